/*
 * dump.c - print a resolved struct conf back in racoon2 syntax.
 *
 * Keys are printed from the same tables interp.c parses with, and only
 * when set (written or inherited), so the output parses to the same
 * configuration and prints the same again (dump -> parse -> dump is a
 * fixed point).  Strings are always quoted with '"', '\\' and '$'
 * escaped, so substituted values are never substituted twice.
 */
#include <errno.h>
#include <string.h>

#include "conf/interp.h"

void conf_dump_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		switch (*s) {
		case '"':
		case '\\':
		case '$':
			fputc('\\', f);
			fputc(*s, f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

void d_bool(FILE *f, const struct kdef *k, const void *v)
{
	(void)k;
	fputs(*(const bool *)v ? "on" : "off", f);
}

void d_time(FILE *f, const struct kdef *k, const void *v)
{
	uint64_t t = *(const uint64_t *)v;
	(void)k;
	if (t == 0)
		fputs("infinite", f);
	else
		fprintf(f, "%llu sec", (unsigned long long)t);
}

void d_bytes(FILE *f, const struct kdef *k, const void *v)
{
	uint64_t t = *(const uint64_t *)v;
	(void)k;
	if (t == 0)
		fputs("infinite", f);
	else
		fprintf(f, "%llu bytes", (unsigned long long)t);
}

void d_u32(FILE *f, const struct kdef *k, const void *v)
{
	(void)k;
	fprintf(f, "%u", *(const uint32_t *)v);
}

void d_str(FILE *f, const struct kdef *k, const void *v)
{
	(void)k;
	conf_dump_string(f, *(char *const *)v);
}

static const char *enum_name(const struct enumdef *e, int val)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].val == val)
			return e->v[i].name;
	return "?";
}

void d_enum(FILE *f, const struct kdef *k, const void *v)
{
	fputs(enum_name(k->arg, *(const int *)v), f);
}

static void addr1(FILE *f, const struct conf_addr *a)
{
	char buf[320];

	if (a->kind == CONF_ADDR_UNIX) {
		fputs("unix ", f);
		conf_dump_string(f, a->name);
		return;
	}
	conf_dump_string(f, conf_addr_str(a, buf, sizeof(buf)));
	if (a->has_port) {
		if (a->port == CONF_PORT_ANY)
			fputs(" port any", f);
		else
			fprintf(f, " port %u", a->port);
	}
}

void d_addr(FILE *f, const struct kdef *k, const void *v)
{
	(void)k;
	addr1(f, v);
}

void d_addrlist(FILE *f, const struct kdef *k, const void *v)
{
	const struct conf_addr_list *l = v;
	(void)k;
	if (l->n == 1) {
		addr1(f, &l->v[0]);
		return;
	}
	fputs("{ ", f);
	for (size_t i = 0; i < l->n; i++) {
		addr1(f, &l->v[i]);
		fputs("; ", f);
	}
	fputc('}', f);
}

static void alg1(FILE *f, const struct conf_alg_spec *a)
{
	fputs(conf_alg_name(a->alg), f);
	if (a->key_bits || a->key) {
		fputc(',', f);
		if (a->key_bits)
			fprintf(f, "%u", a->key_bits);
	}
	if (a->key) {
		fputc(',', f);
		conf_dump_string(f, a->key);
	}
}

void d_alglist(FILE *f, const struct kdef *k, const void *v)
{
	const struct conf_alg_list *l = v;
	(void)k;
	fputs("{ ", f);
	for (size_t i = 0; i < l->n; i++) {
		alg1(f, &l->v[i]);
		fputs("; ", f);
	}
	fputc('}', f);
}

void d_authlist(FILE *f, const struct kdef *k, const void *v)
{
	const struct conf_kmp_params *kp =
	    (const void *)((const char *)v -
			   offsetof(struct conf_kmp_params, kmp_auth_method));
	(void)k;
	fputs("{ ", f);
	for (size_t i = 0; i < kp->n_kmp_auth_method; i++)
		fprintf(f, "%s; ",
			conf_auth_method_name(kp->kmp_auth_method[i]));
	fputc('}', f);
}

void d_exmode(FILE *f, const struct kdef *k, const void *v)
{
	static const char *const names[] = {"?", "main", "aggressive", "base"};
	const struct conf_kmp_params *kp =
	    (const void *)((const char *)v -
			   offsetof(struct conf_kmp_params, exchange_mode));
	(void)k;
	fputs("{ ", f);
	for (size_t i = 0; i < kp->n_exchange_mode; i++)
		fprintf(f, "%s; ", names[kp->exchange_mode[i] & 3]);
	fputc('}', f);
}

void d_strlist(FILE *f, const struct kdef *k, const void *v)
{
	char *const *s = *(char *const *const *)v;
	size_t n = *(const size_t *)((const char *)v + k->uarg);

	fputs("{ ", f);
	for (size_t i = 0; i < n; i++) {
		conf_dump_string(f, s[i]);
		fputs("; ", f);
	}
	fputc('}', f);
}

void d_idlist(FILE *f, const struct kdef *k, const void *v)
{
	static const char *const types[] = {"?",    "ipaddr", "email",
					    "fqdn", "keyid",  "x509_subject"};
	const struct conf_id_list *l = v;
	(void)k;
	fputs("{ ", f);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "%s ", types[l->v[i].type % 6]);
		if (l->v[i].qual == CONF_IDQ_FILE)
			fputs("file ", f);
		else if (l->v[i].qual == CONF_IDQ_TAG)
			fputs("tag ", f);
		conf_dump_string(f, l->v[i].value);
		fputs("; ", f);
	}
	fputc('}', f);
}

void d_pubkey(FILE *f, const struct kdef *k, const void *v)
{
	static const char *const fmts[] = {"?", "x509pem", "pkcs12", "ascii"};
	const struct conf_pubkey *pk = v;
	(void)k;
	fprintf(f, "%s ", fmts[pk->format & 3]);
	conf_dump_string(f, pk->pub);
	if (pk->priv) {
		fputc(' ', f);
		conf_dump_string(f, pk->priv);
	}
}

void d_script(FILE *f, const struct kdef *k, const void *v)
{
	char *const *s = v;
	(void)k;
	fputs("{ ", f);
	for (int i = 0; i < CONF_SCRIPT_COUNT; i++) {
		if (!s[i])
			continue;
		fprintf(f, "%s ", conf_script_name(i));
		conf_dump_string(f, s[i]);
		fputs("; ", f);
	}
	fputc('}', f);
}

void d_request(FILE *f, const struct kdef *k, const void *v)
{
	static const struct {
		unsigned bit;
		const char *name;
	} bits[] = {
	    {CONF_REQ_IP4_ADDRESS, "ip4"},
	    {CONF_REQ_IP6_ADDRESS, "ip6"},
	    {CONF_REQ_IP4_DNS, "ip4_dns"},
	    {CONF_REQ_IP6_DNS, "ip6_dns"},
	    {CONF_REQ_IP4_DHCP, "ip4_dhcp"},
	    {CONF_REQ_IP6_DHCP, "ip6_dhcp"},
	    {CONF_REQ_APPLICATION_VERSION, "application_version"},
	    {CONF_REQ_MIP6_HOME_PREFIX, "mip6_home_prefix"},
	};
	unsigned r = *(const unsigned *)v;
	(void)k;
	fputs("{ ", f);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (r & bits[i].bit)
			fprintf(f, "%s; ", bits[i].name);
	fputc('}', f);
}

void d_provide(FILE *f, const struct kdef *k, const void *v)
{
	const struct conf_provide *p = v;
	fputs("{ ", f);
	if (p->addresspool_name) {
		fputs("addresspool ", f);
		conf_dump_string(f, p->addresspool_name);
		fputs("; ", f);
	}
	if (p->dns.n) {
		fputs("dns ", f);
		d_addrlist(f, k, &p->dns);
		fputs("; ", f);
	}
	if (p->dhcp.n) {
		fputs("dhcp ", f);
		d_addrlist(f, k, &p->dhcp);
		fputs("; ", f);
	}
	if (p->application_version) {
		fputs("application_version ", f);
		conf_dump_string(f, p->application_version);
		fputs("; ", f);
	}
	if (p->mip6_home_prefix.n) {
		fputs("mip6_home_prefix ", f);
		d_addrlist(f, k, &p->mip6_home_prefix);
		fputs("; ", f);
	}
	fputc('}', f);
}

void d_ulproto(FILE *f, const struct kdef *k, const void *v)
{
	const struct conf_selector *s = v;
	(void)k;
	conf_dump_string(f, s->upper_layer_name ? s->upper_layer_name : "any");
	if (s->ul_type >= 0)
		fprintf(f, " %d", s->ul_type);
	if (s->ul_code >= 0)
		fprintf(f, " %d", s->ul_code);
}

static void dump_keys(FILE *f, const struct kdef *tab, size_t n,
		      const void *base, uint64_t set, unsigned ctx,
		      const char *indent)
{
	for (size_t i = 0; i < n; i++) {
		const struct kdef *k = &tab[i];
		if (!((set >> k->id) & 1u) || !(k->ctx & ctx) || !k->dump)
			continue;
		fprintf(f, "%s%s ", indent, k->name);
		k->dump(f, k, (const char *)base + k->off);
		fputs(";\n", f);
	}
}

static void dump_remote_body(FILE *f, const struct conf_remote *r,
			     const char *in)
{
	static const char *const names[] = {"ikev1", "ikev2", "kink"};
	const struct conf_kmp_params *kp[3] = {&r->ikev1, &r->ikev2, &r->kink};
	static const unsigned ctx[3] = {CTX_IKEV1, CTX_IKEV2, CTX_KINK};
	char in2[16];

	snprintf(in2, sizeof(in2), "%s\t", in);
	if (r->n_acceptable_kmp) {
		fprintf(f, "%sacceptable_kmp { ", in);
		for (size_t i = 0; i < r->n_acceptable_kmp; i++)
			fprintf(f, "%s; ", conf_kmp_name(r->acceptable_kmp[i]));
		fputs("};\n", f);
	}
	for (int i = 0; i < 3; i++) {
		if (!kp[i]->present)
			continue;
		fprintf(f, "%s%s {\n", in, names[i]);
		dump_keys(f, conf_kmp_tab, conf_kmp_ntab, kp[i], kp[i]->set,
			  ctx[i], in2);
		fprintf(f, "%s};\n", in);
	}
	if (r->selector_name) {
		fprintf(f, "%sselector_index ", in);
		conf_dump_string(f, r->selector_name);
		fputs(";\n", f);
	}
}

int conf_dump(FILE *f, const struct conf *c)
{
	const struct conf_interface *ifc = &c->iface;

	fputs("# racoon2.conf as resolved by racoon2-conf (defaults and "
	      "setval applied)\n",
	      f);
	if (ifc->present) {
		fputs("interface {\n", f);
		for (size_t i = 0; i < conf_iface_ntab; i++) {
			const struct kdef *k = &conf_iface_tab[i];
			const void *v = (const char *)ifc + k->off;
			bool show;

			if (strcmp(k->name, "kernel_socket") == 0) {
				show = ifc->kernel_socket != NULL;
				goto shown;
			}
			switch (i) {
			case 0:
			case 1:
			case 2:
				show = ((const struct conf_addr_list *)v)->n;
				break;
			case 3:
				show = ifc->spmd_password != NULL;
				break;
			case 4:
				show = ifc->has_application_bypass;
				break;
			case 5:
				show = ifc->kernel != CONF_KERNEL_DEFAULT;
				break;
			default: /* iked limits, in ike_limits_set order */
				show = (ifc->ike_limits_set >> (i - 6)) & 1u;
				break;
			}
		shown:
			if (!show)
				continue;
			fprintf(f, "\t%s ", k->name);
			k->dump(f, k, v);
			fputs(";\n", f);
		}
		fputs("};\n", f);
	}
	if (c->resolver.present) {
		const struct conf_resolver *r = &c->resolver;
		fprintf(f, "resolver {\n\tresolver %s;\n",
			r->enabled ? "on" : "off");
		if (r->nameserver.n) {
			fputs("\tnameserver ", f);
			d_addrlist(f, NULL, &r->nameserver);
			fputs(";\n", f);
		}
		if (r->dns_query.n) {
			fputs("\tdns_query ", f);
			d_addrlist(f, NULL, &r->dns_query);
			fputs(";\n", f);
		}
		fputs("};\n", f);
	}
	if (c->default_remote || c->default_policy || c->default_ipsec ||
	    c->default_sa) {
		fputs("default {\n", f);
		if (c->default_remote) {
			fputs("\tremote {\n", f);
			dump_remote_body(f, c->default_remote, "\t\t");
			fputs("\t};\n", f);
		}
		if (c->default_policy) {
			fputs("\tpolicy {\n", f);
			dump_keys(f, conf_policy_tab, conf_policy_ntab,
				  c->default_policy, c->default_policy->set, 1,
				  "\t\t");
			fputs("\t};\n", f);
		}
		if (c->default_ipsec) {
			fputs("\tipsec {\n", f);
			dump_keys(f, conf_ipsec_tab, conf_ipsec_ntab,
				  c->default_ipsec, c->default_ipsec->set, 1,
				  "\t\t");
			fputs("\t};\n", f);
		}
		if (c->default_sa) {
			fputs("\tsa {\n", f);
			dump_keys(f, conf_sa_tab, conf_sa_ntab, c->default_sa,
				  c->default_sa->set, 7, "\t\t");
			fputs("\t};\n", f);
		}
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->nremotes; i++) {
		fputs("remote ", f);
		conf_dump_string(f, c->remotes[i]->name);
		fputs(" {\n", f);
		dump_remote_body(f, c->remotes[i], "\t");
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->nselectors; i++) {
		const struct conf_selector *s = c->selectors[i];
		uint64_t set = 0;
		fputs("selector ", f);
		conf_dump_string(f, s->name);
		fputs(" {\n", f);
		/* selectors have no set mask: print what has a value */
		for (size_t j = 0; j < conf_selector_ntab; j++) {
			const struct kdef *k = &conf_selector_tab[j];
			bool show;
			switch (k->id) {
			case 0:
				show = s->has_order;
				break;
			case 4:
				show = s->upper_layer_name != NULL;
				break;
			case 5:
				show = s->n_next_header_including;
				break;
			case 6:
				show = s->tagged != NULL;
				break;
			case 7:
				show = s->policy_name != NULL;
				break;
			case 8:
				show = s->has_reqid;
				break;
			default:
				show = true;
			}
			if (show)
				set |= 1ull << k->id;
		}
		dump_keys(f, conf_selector_tab, conf_selector_ntab, s, set, 1,
			  "\t");
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->npolicies; i++) {
		fputs("policy ", f);
		conf_dump_string(f, c->policies[i]->name);
		fputs(" {\n", f);
		dump_keys(f, conf_policy_tab, conf_policy_ntab, c->policies[i],
			  c->policies[i]->set, 1, "\t");
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->nipsecs; i++) {
		fputs("ipsec ", f);
		conf_dump_string(f, c->ipsecs[i]->name);
		fputs(" {\n", f);
		dump_keys(f, conf_ipsec_tab, conf_ipsec_ntab, c->ipsecs[i],
			  c->ipsecs[i]->set, 1, "\t");
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->nsas; i++) {
		fputs("sa ", f);
		conf_dump_string(f, c->sas[i]->name);
		fputs(" {\n", f);
		dump_keys(f, conf_sa_tab, conf_sa_ntab, c->sas[i],
			  c->sas[i]->set, 7, "\t");
		fputs("};\n", f);
	}
	for (size_t i = 0; i < c->naddrpools; i++) {
		const struct conf_addrpool *ap = c->addrpools[i];
		char a[80], b[80];
		fputs("addresspool ", f);
		conf_dump_string(f, ap->name);
		fputs(" {\n", f);
		for (size_t j = 0; j < ap->n; j++)
			fprintf(f, "\t\"%s\" - \"%s\";\n",
				conf_addr_str(&ap->v[j].start, a, sizeof(a)),
				conf_addr_str(&ap->v[j].end, b, sizeof(b)));
		fputs("};\n", f);
	}
	return ferror(f) ? -EIO : 0;
}
