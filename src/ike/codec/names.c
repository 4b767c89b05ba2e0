/*
 * names.c - printable names of IKEv2 exchanges, payloads and notify
 * types for logs and ikedctl.  Returned strings are static; unknown
 * values are formatted into a static buffer (log use only).
 */
#include "ike/codec/codec_int.h"

#include <stdio.h>
#include <string.h>

const char *ikev2_exch_name(uint8_t exch)
{
	static char buf[16];

	switch (exch) {
	case IKEV2_EXCH_IKE_SA_INIT:
		return "IKE_SA_INIT";
	case IKEV2_EXCH_IKE_AUTH:
		return "IKE_AUTH";
	case IKEV2_EXCH_CREATE_CHILD_SA:
		return "CREATE_CHILD_SA";
	case IKEV2_EXCH_INFORMATIONAL:
		return "INFORMATIONAL";
	}
	snprintf(buf, sizeof(buf), "EXCH(%u)", exch);
	return buf;
}

/* Notation of RFC 7296 §3.2 (and RFC 7383 for SKF). */
const char *ikev2_payload_name(uint8_t type)
{
	static char buf[16];

	switch (type) {
	case IKEV2_PL_SA:
		return "SA";
	case IKEV2_PL_KE:
		return "KE";
	case IKEV2_PL_IDi:
		return "IDi";
	case IKEV2_PL_IDr:
		return "IDr";
	case IKEV2_PL_CERT:
		return "CERT";
	case IKEV2_PL_CERTREQ:
		return "CERTREQ";
	case IKEV2_PL_AUTH:
		return "AUTH";
	case IKEV2_PL_NONCE:
		return "No";
	case IKEV2_PL_N:
		return "N";
	case IKEV2_PL_D:
		return "D";
	case IKEV2_PL_V:
		return "V";
	case IKEV2_PL_TSi:
		return "TSi";
	case IKEV2_PL_TSr:
		return "TSr";
	case IKEV2_PL_SK:
		return "SK";
	case IKEV2_PL_CP:
		return "CP";
	case IKEV2_PL_EAP:
		return "EAP";
	case IKEV2_PL_SKF:
		return "SKF";
	}
	snprintf(buf, sizeof(buf), "PL(%u)", type);
	return buf;
}

static const struct {
	uint16_t type;
	const char *name;
} notify_names[] = {
    {IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPPORTED_CRITICAL_PAYLOAD"},
    {IKEV2_N_INVALID_IKE_SPI, "INVALID_IKE_SPI"},
    {IKEV2_N_INVALID_MAJOR_VERSION, "INVALID_MAJOR_VERSION"},
    {IKEV2_N_INVALID_SYNTAX, "INVALID_SYNTAX"},
    {IKEV2_N_INVALID_MESSAGE_ID, "INVALID_MESSAGE_ID"},
    {IKEV2_N_INVALID_SPI, "INVALID_SPI"},
    {IKEV2_N_NO_PROPOSAL_CHOSEN, "NO_PROPOSAL_CHOSEN"},
    {IKEV2_N_INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD"},
    {IKEV2_N_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED"},
    {IKEV2_N_SINGLE_PAIR_REQUIRED, "SINGLE_PAIR_REQUIRED"},
    {IKEV2_N_NO_ADDITIONAL_SAS, "NO_ADDITIONAL_SAS"},
    {IKEV2_N_INTERNAL_ADDRESS_FAILURE, "INTERNAL_ADDRESS_FAILURE"},
    {IKEV2_N_FAILED_CP_REQUIRED, "FAILED_CP_REQUIRED"},
    {IKEV2_N_TS_UNACCEPTABLE, "TS_UNACCEPTABLE"},
    {IKEV2_N_INVALID_SELECTORS, "INVALID_SELECTORS"},
    {IKEV2_N_TEMPORARY_FAILURE, "TEMPORARY_FAILURE"},
    {IKEV2_N_CHILD_SA_NOT_FOUND, "CHILD_SA_NOT_FOUND"},
    {IKEV2_N_INITIAL_CONTACT, "INITIAL_CONTACT"},
    {IKEV2_N_SET_WINDOW_SIZE, "SET_WINDOW_SIZE"},
    {IKEV2_N_ADDITIONAL_TS_POSSIBLE, "ADDITIONAL_TS_POSSIBLE"},
    {IKEV2_N_IPCOMP_SUPPORTED, "IPCOMP_SUPPORTED"},
    {IKEV2_N_NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP"},
    {IKEV2_N_NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP"},
    {IKEV2_N_COOKIE, "COOKIE"},
    {IKEV2_N_USE_TRANSPORT_MODE, "USE_TRANSPORT_MODE"},
    {IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED, "HTTP_CERT_LOOKUP_SUPPORTED"},
    {IKEV2_N_REKEY_SA, "REKEY_SA"},
    {IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PADDING_NOT_SUPPORTED"},
    {IKEV2_N_NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAGMENTS_ALSO"},
    {IKEV2_N_MOBIKE_SUPPORTED, "MOBIKE_SUPPORTED"},
    {IKEV2_N_ADDITIONAL_IP4_ADDRESS, "ADDITIONAL_IP4_ADDRESS"},
    {IKEV2_N_ADDITIONAL_IP6_ADDRESS, "ADDITIONAL_IP6_ADDRESS"},
    {IKEV2_N_NO_ADDITIONAL_ADDRESSES, "NO_ADDITIONAL_ADDRESSES"},
    {IKEV2_N_UPDATE_SA_ADDRESSES, "UPDATE_SA_ADDRESSES"},
    {IKEV2_N_COOKIE2, "COOKIE2"},
    {IKEV2_N_NO_NATS_ALLOWED, "NO_NATS_ALLOWED"},
    {IKEV2_N_REDIRECT_SUPPORTED, "REDIRECT_SUPPORTED"},
    {IKEV2_N_REDIRECT, "REDIRECT"},
    {IKEV2_N_REDIRECTED_FROM, "REDIRECTED_FROM"},
    {IKEV2_N_EAP_ONLY_AUTHENTICATION, "EAP_ONLY_AUTHENTICATION"},
    {IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, "CHILDLESS_IKEV2_SUPPORTED"},
    {IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, "IKEV2_FRAGMENTATION_SUPPORTED"},
    {IKEV2_N_SIGNATURE_HASH_ALGORITHMS, "SIGNATURE_HASH_ALGORITHMS"},
};

const char *ikev2_notify_name(uint16_t type)
{
	static char buf[24];

	for (size_t i = 0; i < NELEM(notify_names); i++)
		if (notify_names[i].type == type)
			return notify_names[i].name;
	snprintf(buf, sizeof(buf), "N(%u)", type);
	return buf;
}

const char *ikev2_msg_summary(const struct ike_msg *m, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
#define APPEND(...)                                                            \
	do {                                                                   \
		int n_ = snprintf(buf + o, len - o, __VA_ARGS__);              \
		if (n_ < 0 || (size_t)n_ >= len - o) {                         \
			o = len - 1;                                           \
			goto done;                                             \
		}                                                              \
		o += (size_t)n_;                                               \
	} while (0)
	APPEND("[");
	for (unsigned i = 0; i < m->npl; i++) {
		const struct ikev2_pl *pl = &m->pl[i];

		/* the SK wrapper is implied once opened */
		if (pl->type == IKEV2_PL_SK && m->sk_opened)
			continue;
		if (pl->type == IKEV2_PL_N) {
			struct ikev2_notify n;

			if (ikev2_get_notify(pl, &n) == 0) {
				const char *nm = ikev2_notify_name(n.type);

				/* unknown types already read "N(12345)" */
				if (strncmp(nm, "N(", 2) == 0)
					APPEND(" %s", nm);
				else
					APPEND(" N(%s)", nm);
				continue;
			}
		}
		APPEND(" %s", ikev2_payload_name(pl->type));
	}
	APPEND(" ]");
#undef APPEND
done:
	return buf;
}
