/*
 * interp_keys.c - the key tables: for each kind of block, every key with
 * where it is valid, how its value is parsed and dumped, and where it is
 * stored.  dump.c prints from the same tables.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/interp_int.h"
#include "lib/filesrc.h"
#include "lib/util.h"

/* ------------------------------------------------------------------ */
/* key tables                                                          */
/* ------------------------------------------------------------------ */

#define X1    CTX_IKEV1
#define X2    CTX_IKEV2
#define XK    CTX_KINK
#define XA    (X1 | X2 | XK)
#define KO(f) offsetof(struct conf_kmp_params, f)

static const struct enumv logmode_v[] = {{"normal", CONF_LOGMODE_NORMAL},
					 {"debug", CONF_LOGMODE_DEBUG}};
static const struct enumdef logmode_e = {logmode_v, 2};
static const struct enumv selchk_v[] = {{"obey", CONF_CHECK_OBEY},
					{"exact", CONF_CHECK_EXACT}};
static const struct enumdef selchk_e = {selchk_v, 2};
static const struct enumv propchk_v[] = {
    {"obey", CONF_CHECK_OBEY},
    {"strict", CONF_CHECK_STRICT},
    {"claim", CONF_CHECK_CLAIM},
    {"exact", CONF_CHECK_EXACT},
};
static const struct enumdef propchk_e = {propchk_v, 4};
static const struct enumv mob_v[] = {{"agent", CONF_MOB_AGENT},
				     {"mobile", CONF_MOB_MOBILE},
				     {"correspondent", CONF_MOB_CORRESPONDENT}};
static const struct enumdef mob_e = {mob_v, 3};
static const struct u32range r_any = {0, UINT32_MAX};
static const struct u32range r_retry = {0, 1000};

#define PEER_AF (AF_RWOK | AF_ANYOK | AF_NAMEOK | AF_PORTOK)

const struct kdef conf_kmp_tab[] = {
    {"logmode", NULL, CK_LOGMODE, XA, p_enum, d_enum, KO(logmode), &logmode_e,
     0},
    {"logfile", NULL, CK_LOGFILE, XA, p_str, d_str, KO(logfile), NULL, 0},
    {"passive", NULL, CK_PASSIVE, XA, p_bool, d_bool, KO(passive), NULL, 0},
    {"use_coa", NULL, CK_USE_COA, XA, p_bool, d_bool, KO(use_coa), NULL, 0},
    {"peers_ipaddr", NULL, CK_PEERS_IPADDR, XA, p_addrlist, d_addrlist,
     KO(peers_ipaddr), NULL, PEER_AF},
    {"peers_kmp_port", NULL, CK_PEERS_KMP_PORT, XA, p_str, d_str,
     KO(peers_kmp_port), NULL, 1},
    {"verify_id", NULL, CK_VERIFY_ID, XA, p_bool, d_bool, KO(verify_id), NULL,
     0},
    {"verify_pubkey", NULL, CK_VERIFY_PUBKEY, XA, p_bool, d_bool,
     KO(verify_pubkey), NULL, 0},
    {"send_cert", NULL, CK_SEND_CERT, XA, p_bool, d_bool, KO(send_cert), NULL,
     0},
    {"send_cert_req", NULL, CK_SEND_CERT_REQ, XA, p_bool, d_bool,
     KO(send_cert_req), NULL, 0},
    {"nonce_size", NULL, CK_NONCE_SIZE, XA, p_bytes, d_bytes, KO(nonce_size),
     NULL, 0},
    {"initial_contact", NULL, CK_INITIAL_CONTACT, XA, p_bool, d_bool,
     KO(initial_contact), NULL, 0},
    {"support_proxy", NULL, CK_SUPPORT_PROXY, XA, p_bool, d_bool,
     KO(support_proxy), NULL, 0},
    {"nat_traversal", NULL, CK_NAT_TRAVERSAL, XA, p_bool, d_bool,
     KO(nat_traversal), NULL, 0},
    {"nat_keepalive_interval", NULL, CK_NAT_KEEPALIVE, XA, p_time, d_time,
     KO(nat_keepalive), NULL, 0},
    {"fragmentation", NULL, CK_FRAGMENTATION, X2, p_bool, d_bool,
     KO(fragmentation), NULL, 0},
    {"fragment_size", NULL, CK_FRAGMENT_SIZE, X2, p_bytes, d_bytes,
     KO(fragment_size), NULL, 0},
    {"childless", NULL, CK_CHILDLESS, X2, p_bool, d_bool, KO(childless), NULL,
     0},
    {"mobike", NULL, CK_MOBIKE, X2, p_bool, d_bool, KO(mobike), NULL, 0},
    {"my_id", NULL, CK_MY_ID, XA, p_idlist, d_idlist, KO(my_id), NULL, 0},
    {"peers_id", NULL, CK_PEERS_ID, XA, p_idlist, d_idlist, KO(peers_id), NULL,
     0},
    {"selector_check", NULL, CK_SELECTOR_CHECK, XA, p_enum, d_enum,
     KO(selector_check), &selchk_e, 0},
    {"proposal_check", NULL, CK_PROPOSAL_CHECK, XA, p_enum, d_enum,
     KO(proposal_check), &propchk_e, 0},
    {"random_pad_content", NULL, CK_RANDOM_PAD_CONTENT, XA, p_bool, d_bool,
     KO(random_pad_content), NULL, 0},
    {"random_padlen", "padlen_random", CK_RANDOM_PADLEN, XA, p_bool, d_bool,
     KO(random_padlen), NULL, 0},
    {"max_padlen", NULL, CK_MAX_PADLEN, XA, p_bytes, d_bytes, KO(max_padlen),
     NULL, 0},
    {"max_retry_to_send", NULL, CK_MAX_RETRY_TO_SEND, XA, p_u32, d_u32,
     KO(max_retry_to_send), &r_retry, 0},
    {"interval_to_send", NULL, CK_INTERVAL_TO_SEND, XA, p_time, d_time,
     KO(interval_to_send), NULL, 0},
    {"times_per_send", NULL, CK_TIMES_PER_SEND, XA, p_u32, d_u32,
     KO(times_per_send), &r_retry, 0},
    {"kmp_sa_lifetime_time", NULL, CK_KMP_SA_LIFETIME_TIME, XA, p_time, d_time,
     KO(kmp_sa_lifetime_time), NULL, 0},
    {"kmp_sa_lifetime_byte", NULL, CK_KMP_SA_LIFETIME_BYTE, XA, p_bytes,
     d_bytes, KO(kmp_sa_lifetime_byte), NULL, 0},
    {"kmp_sa_nego_time_limit", NULL, CK_KMP_SA_NEGO_TIME_LIMIT, XA, p_time,
     d_time, KO(kmp_sa_nego_time_limit), NULL, 0},
    {"kmp_sa_grace_period", NULL, CK_KMP_SA_GRACE_PERIOD, XA, p_time, d_time,
     KO(kmp_sa_grace_period), NULL, 0},
    {"ipsec_sa_nego_time_limit", NULL, CK_IPSEC_SA_NEGO_TIME_LIMIT, XA, p_time,
     d_time, KO(ipsec_sa_nego_time_limit), NULL, 0},
    {"kmp_enc_alg", NULL, CK_KMP_ENC_ALG, XA, p_alglist, d_alglist,
     KO(kmp_enc_alg), NULL, CONF_SLOT_KMP_ENC},
    {"kmp_hash_alg", NULL, CK_KMP_HASH_ALG, XA, p_alglist, d_alglist,
     KO(kmp_hash_alg), NULL, CONF_SLOT_KMP_HASH},
    {"kmp_prf_alg", NULL, CK_KMP_PRF_ALG, XA, p_alglist, d_alglist,
     KO(kmp_prf_alg), NULL, CONF_SLOT_KMP_PRF},
    {"kmp_auth_method", NULL, CK_KMP_AUTH_METHOD, XA, p_authlist, d_authlist,
     KO(kmp_auth_method), NULL, 0},
    {"kmp_dh_group", NULL, CK_KMP_DH_GROUP, XA, p_alglist, d_alglist,
     KO(kmp_dh_group), NULL, CONF_SLOT_KMP_DH},
    {"mobility_role", NULL, CK_MOBILITY_ROLE, XA, p_enum, d_enum,
     KO(mobility_role), &mob_e, 0},
    {"script", NULL, CK_SCRIPT, XA, p_script, d_script, KO(script), NULL, 0},
    {"exchange_mode", NULL, CK_EXCHANGE_MODE, X1, p_exmode, d_exmode,
     KO(exchange_mode), NULL, 0},
    {"my_gssapi_id", NULL, CK_MY_GSSAPI_ID, X1, p_str, d_str, KO(my_gssapi_id),
     NULL, 0},
    {"need_pfs", NULL, CK_NEED_PFS, XA, p_bool, d_bool, KO(need_pfs), NULL, 0},
    {"my_public_key", NULL, CK_MY_PUBLIC_KEY, X1 | X2, p_pubkey, d_pubkey,
     KO(my_public_key), NULL, 1},
    {"peers_public_key", NULL, CK_PEERS_PUBLIC_KEY, X1 | X2, p_pubkey, d_pubkey,
     KO(peers_public_key), NULL, 0},
    {"pre_shared_key", NULL, CK_PRE_SHARED_KEY, X1 | X2, p_str, d_str,
     KO(pre_shared_key), NULL, 1},
    {"dpd", NULL, CK_DPD, X1, p_bool, d_bool, KO(dpd), NULL, 0},
    {"dpd_delay", NULL, CK_DPD_DELAY, XA, p_time, d_time, KO(dpd_delay), NULL,
     0},
    {"dpd_retry", NULL, CK_DPD_RETRY, X1, p_time, d_time, KO(dpd_retry), NULL,
     0},
    {"dpd_maxfail", NULL, CK_DPD_MAXFAIL, X1, p_u32, d_u32, KO(dpd_maxfail),
     &r_retry, 0},
    {"cookie_required", NULL, CK_COOKIE_REQUIRED, X2, p_bool, d_bool,
     KO(cookie_required), NULL, 0},
    {"send_peers_id", NULL, CK_SEND_PEERS_ID, X2, p_bool, d_bool,
     KO(send_peers_id), NULL, 0},
    {"request", NULL, CK_REQUEST, X2, p_request, d_request, KO(request), NULL,
     0},
    {"provide", NULL, CK_PROVIDE, X2, p_provide, d_provide, KO(provide), NULL,
     0},
    {"my_principal", NULL, CK_MY_PRINCIPAL, XK, p_str, d_str, KO(my_principal),
     NULL, 1},
    {"peers_principal", NULL, CK_PEERS_PRINCIPAL, XK, p_str, d_str,
     KO(peers_principal), NULL, 1},
};
const size_t conf_kmp_ntab = sizeof(conf_kmp_tab) / sizeof(conf_kmp_tab[0]);

static bool p_kmpblock(struct sc *c, const struct kdef *k, void *f)
{
	const struct item *it = sc_peek(c);
	struct conf_kmp_params *kp = f;
	int idx = k->uarg == X1 ? 0 : k->uarg == X2 ? 1 : 2;

	if (!it || it->kind != I_BLOCK) {
		sc_expected(c, "'{'");
		return false;
	}
	c->i++;
	kp->present = true;
	kp->loc = c->keyloc;
	interp_block(c->x, it->block, conf_kmp_tab, conf_kmp_ntab, k->uarg,
		     k->name, kp, &kp->set, c->x->cur_rlocs->kmp[idx], NLOCS,
		     false, -1);
	return c->x->cur_rlocs->kmp[idx][LOC_BAD].line == 0;
}

#define RO(f) offsetof(struct conf_remote, f)

const struct kdef conf_remote_tab[] = {
    {"acceptable_kmp", NULL, RK_ACCEPTABLE_KMP, 1, p_kmplist, NULL, 0, NULL, 0},
    {"selector_index", NULL, RK_SELECTOR_INDEX, 1, p_str, NULL,
     RO(selector_name), NULL, 1},
    {"ikev1", NULL, RK_IKEV1, 1, p_kmpblock, NULL, RO(ikev1), NULL, X1},
    {"ikev2", NULL, RK_IKEV2, 1, p_kmpblock, NULL, RO(ikev2), NULL, X2},
    {"kink", NULL, RK_KINK, 1, p_kmpblock, NULL, RO(kink), NULL, XK},
};
const size_t conf_remote_ntab =
    sizeof(conf_remote_tab) / sizeof(conf_remote_tab[0]);

#define SO(f) offsetof(struct conf_selector, f)
static const struct enumv dir_v[] = {{"outbound", CONF_DIR_OUTBOUND},
				     {"inbound", CONF_DIR_INBOUND}};
static const struct enumdef dir_e = {dir_v, 2};
static const struct u32range r_reqid = {1, UINT32_MAX};
#define SEL_AF (AF_ANYOK | AF_MACROOK | AF_NAMEOK | AF_PREFIXOK | AF_PORTOK)

const struct kdef conf_selector_tab[] = {
    {"order", NULL, SK_ORDER, 1, p_u32, d_u32, SO(order), &r_any, 0},
    {"direction", NULL, SK_DIRECTION, 1, p_enum, d_enum, SO(direction), &dir_e,
     0},
    {"src", NULL, SK_SRC, 1, p_addr, d_addr, SO(src), NULL, SEL_AF},
    {"dst", NULL, SK_DST, 1, p_addr, d_addr, SO(dst), NULL, SEL_AF},
    {"upper_layer_protocol", NULL, SK_ULP, 1, p_ulproto, d_ulproto, 0, NULL, 0},
    {"next_header_including", NULL, SK_NHI, 1, p_strlist, d_strlist,
     SO(next_header_including), NULL,
     SO(n_next_header_including) - SO(next_header_including)},
    {"tagged", NULL, SK_TAGGED, 1, p_str, d_str, SO(tagged), NULL, 1},
    {"policy_index", NULL, SK_POLICY_INDEX, 1, p_str, d_str, SO(policy_name),
     NULL, 1},
    {"reqid", NULL, SK_REQID, 1, p_u32, d_u32, SO(reqid), &r_reqid, 0},
};
const size_t conf_selector_ntab =
    sizeof(conf_selector_tab) / sizeof(conf_selector_tab[0]);

#define PO(f) offsetof(struct conf_policy, f)
static const struct enumv action_v[] = {
    {"auto_ipsec", CONF_ACTION_AUTO_IPSEC},
    {"static_ipsec", CONF_ACTION_STATIC_IPSEC},
    {"discard", CONF_ACTION_DISCARD},
    {"none", CONF_ACTION_NONE},
    {"bypass", CONF_ACTION_NONE},
};
static const struct enumdef action_e = {action_v, 5};
static const struct enumv mode_v[] = {{"transport", CONF_MODE_TRANSPORT},
				      {"tunnel", CONF_MODE_TUNNEL}};
static const struct enumdef mode_e = {mode_v, 2};
static const struct enumv level_v[] = {{"require", CONF_LEVEL_REQUIRE},
				       {"use", CONF_LEVEL_USE},
				       {"unique", CONF_LEVEL_UNIQUE}};
static const struct enumdef level_e = {level_v, 3};

const struct kdef conf_policy_tab[] = {
    {"action", NULL, CP_ACTION, 1, p_enum, d_enum, PO(action), &action_e, 0},
    {"install", NULL, CP_INSTALL, 1, p_bool, d_bool, PO(install), NULL, 0},
    {"remote_index", NULL, CP_REMOTE_INDEX, 1, p_str, d_str, PO(remote_name),
     NULL, 1},
    {"ipsec_index", NULL, CP_IPSEC_INDEX, 1, p_strlist, d_strlist,
     PO(ipsec_names), NULL, PO(nipsec) - PO(ipsec_names)},
    {"ipsec_mode", NULL, CP_IPSEC_MODE, 1, p_enum, d_enum, PO(ipsec_mode),
     &mode_e, 0},
    {"my_sa_ipaddr", NULL, CP_MY_SA_IPADDR, 1, p_addr, d_addr, PO(my_sa_ipaddr),
     NULL, AF_RWOK | AF_MACROOK | AF_NAMEOK},
    {"peers_sa_ipaddr", NULL, CP_PEERS_SA_IPADDR, 1, p_addr, d_addr,
     PO(peers_sa_ipaddr), NULL, AF_RWOK | AF_NAMEOK},
    {"ipsec_level", NULL, CP_IPSEC_LEVEL, 1, p_enum, d_enum, PO(ipsec_level),
     &level_e, 0},
};
const size_t conf_policy_ntab =
    sizeof(conf_policy_tab) / sizeof(conf_policy_tab[0]);

#define IO(f) offsetof(struct conf_ipsec, f)
static const struct u32range r_replay = {0, 4096};
const struct kdef conf_ipsec_tab[] = {
    {"ipsec_sa_lifetime_time", NULL, CI_LIFETIME_TIME, 1, p_time, d_time,
     IO(ipsec_sa_lifetime_time), NULL, 0},
    {"ipsec_sa_lifetime_byte", NULL, CI_LIFETIME_BYTE, 1, p_bytes, d_bytes,
     IO(ipsec_sa_lifetime_byte), NULL, 0},
    {"ext_sequence", NULL, CI_EXT_SEQUENCE, 1, p_bool, d_bool, IO(ext_sequence),
     NULL, 0},
    {"sa_index", NULL, CI_SA_INDEX, 1, p_strlist, d_strlist, IO(sa_names), NULL,
     IO(nsa) - IO(sa_names)},
    {"replay_window", NULL, CI_REPLAY_WINDOW, 1, p_u32, d_u32,
     IO(replay_window), &r_replay, 0},
};
const size_t conf_ipsec_ntab =
    sizeof(conf_ipsec_tab) / sizeof(conf_ipsec_tab[0]);

#define AO(f)	 offsetof(struct conf_sa, f)
#define C_ESP	 1u
#define C_AH	 2u
#define C_IPCOMP 4u
const struct enumv conf_saproto_v[] = {
    {"esp", CONF_SA_ESP}, {"ah", CONF_SA_AH}, {"ipcomp", CONF_SA_IPCOMP}};
const struct enumdef saproto_e = {conf_saproto_v, 3};
static const struct u32range r_spi = {256, UINT32_MAX};
const struct kdef conf_sa_tab[] = {
    {"sa_protocol", NULL, CS_SA_PROTOCOL, 7, p_enum, d_enum, AO(sa_protocol),
     &saproto_e, 0},
    {"esp_enc_alg", NULL, CS_ESP_ENC_ALG, C_ESP, p_alglist, d_alglist,
     AO(esp_enc_alg), NULL, CONF_SLOT_ESP_ENC},
    {"esp_auth_alg", NULL, CS_ESP_AUTH_ALG, C_ESP, p_alglist, d_alglist,
     AO(esp_auth_alg), NULL, CONF_SLOT_ESP_AUTH},
    {"ah_auth_alg", NULL, CS_AH_AUTH_ALG, C_AH, p_alglist, d_alglist,
     AO(ah_auth_alg), NULL, CONF_SLOT_AH_AUTH},
    {"ipcomp_alg", NULL, CS_IPCOMP_ALG, C_IPCOMP, p_alglist, d_alglist,
     AO(ipcomp_alg), NULL, CONF_SLOT_IPCOMP},
    /* RFC 4303 §2.1: SPIs 1-255 are reserved */
    {"spi", NULL, CS_SPI, 7, p_u32, d_u32, AO(spi), &r_spi, 0},
};
const size_t conf_sa_ntab = sizeof(conf_sa_tab) / sizeof(conf_sa_tab[0]);

#define FO(f) offsetof(struct conf_interface, f)
static const struct enumv kernel_v[] = {
    {"xfrm", CONF_KERNEL_XFRM},
    {"pfkey", CONF_KERNEL_PFKEY},
    {"userspace", CONF_KERNEL_USERSPACE},
};
static const struct enumdef kernel_e = {kernel_v, 3};
#define IF_AF (AF_ANYOK | AF_MACROOK | AF_PORTOK)
static const struct u32range r_limit = {1, 1000000};
static const struct u32range r_cookie = {0, 1000000};
const struct kdef conf_iface_tab[] = {
    {"ike", NULL, FK_IKE, 1, p_addrlist, d_addrlist, FO(ike), NULL, IF_AF},
    {"kink", NULL, FK_KINK, 1, p_addrlist, d_addrlist, FO(kink), NULL, IF_AF},
    {"spmd", NULL, FK_SPMD, 1, p_addrlist, d_addrlist, FO(spmd), NULL,
     IF_AF | AF_UNIXOK},
    {"spmd_password", NULL, FK_PASSWD, 1, p_str, d_str, FO(spmd_password), NULL,
     1},
    {"application_bypass", NULL, FK_BYPASS, 1, p_bool, d_bool,
     FO(application_bypass), NULL, 0},
    {"kernel", NULL, FK_KERNEL, 1, p_enum, d_enum, FO(kernel), &kernel_e, 0},
    {"ike_cookie_threshold", NULL, FK_COOKIE, 1, p_u32, d_u32,
     FO(ike_cookie_threshold), &r_cookie, 0},
    {"ike_half_open_max", NULL, FK_HO_MAX, 1, p_u32, d_u32,
     FO(ike_half_open_max), &r_limit, 0},
    {"ike_half_open_per_addr", NULL, FK_HO_ADDR, 1, p_u32, d_u32,
     FO(ike_half_open_per_addr), &r_limit, 0},
    {"ike_half_open_per_prefix", NULL, FK_HO_PREFIX, 1, p_u32, d_u32,
     FO(ike_half_open_per_prefix), &r_limit, 0},
    {"ike_half_open_timeout", NULL, FK_HO_TIMEOUT, 1, p_time, d_time,
     FO(ike_half_open_timeout), NULL, 0},
    {"ike_sa_per_id", NULL, FK_SA_PER_ID, 1, p_u32, d_u32, FO(ike_sa_per_id),
     &r_limit, 0},
    {"child_sa_per_ike_sa", NULL, FK_CHILD_PER_SA, 1, p_u32, d_u32,
     FO(ike_child_sa_per_ike_sa), &r_limit, 0},
    {"ike_half_open_rate", NULL, FK_HO_RATE, 1, p_u32, d_u32,
     FO(ike_half_open_rate), &r_cookie, 0},
    /* r2espd's control socket for `kernel userspace` (the environment
     * variable RACOON2_ESPD_SOCKET, when set, overrides it) */
    {"kernel_socket", NULL, FK_KSOCK, 1, p_str, d_str, FO(kernel_socket), NULL,
     1},
};
const size_t conf_iface_ntab =
    sizeof(conf_iface_tab) / sizeof(conf_iface_tab[0]);

#define VO(f) offsetof(struct conf_resolver, f)
const struct kdef conf_resolver_tab[] = {
    {"resolver", NULL, 0, 1, p_bool, d_bool, VO(enabled), NULL, 0},
    {"nameserver", NULL, 1, 1, p_addrlist, d_addrlist, VO(nameserver), NULL,
     AF_PORTOK},
    {"dns_query", NULL, 2, 1, p_addrlist, d_addrlist, VO(dns_query), NULL,
     AF_PORTOK | AF_ANYOK | AF_MACROOK},
};
const size_t conf_resolver_ntab =
    sizeof(conf_resolver_tab) / sizeof(conf_resolver_tab[0]);
