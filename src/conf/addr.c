/*
 * addr.c - racoon2.conf address values: parsing of one address word,
 * its text form, and expansion of the symbolic forms (MY_IP* macros,
 * host names, IP_ANY) into concrete addresses at run time.
 *
 * struct conf_addr values are owned by their struct conf; name (for
 * CONF_ADDR_NAME/UNIX) is a heap string freed by conf_free().  The
 * functions here never keep pointers to their arguments.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_int.h"

static const struct {
	const char *name;
	enum conf_addr_kind kind;
} macros[] = {
    {"IP_ANY", CONF_ADDR_ANY},
    {"IP_UNSPECIFIED", CONF_ADDR_ANY},
    {"IP_RW", CONF_ADDR_RW},
    {"MY_IP", CONF_ADDR_MY_IP},
    {"MY_IPV4", CONF_ADDR_MY_IPV4},
    {"MY_IPV6", CONF_ADDR_MY_IPV6},
    {"MY_IPV6_GLOBAL", CONF_ADDR_MY_IPV6_GLOBAL},
    {"MY_IPV6_LINKLOCAL", CONF_ADDR_MY_IPV6_LINKLOCAL},
};

bool conf_addr_is_macro(const struct conf_addr *a)
{
	return a->kind >= CONF_ADDR_MY_IP &&
	       a->kind <= CONF_ADDR_MY_IPV6_LINKLOCAL;
}

static const char *macro_name(enum conf_addr_kind k)
{
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (macros[i].kind == k)
			return macros[i].name;
	return "?";
}

static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), lab = 0;
	bool alpha = false, last_numeric = true;

	if (len == 0 || len > 253)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (lab == 0 || lab > 63)
				return false;
			if (*p == '\0')
				break;
			lab = 0;
			last_numeric = true;
			continue;
		}
		if (isalpha((unsigned char)*p)) {
			alpha = true;
			last_numeric = false;
		} else if (*p == '-') {
			last_numeric = false;
		} else if (!isdigit((unsigned char)*p)) {
			return false;
		}
		lab++;
	}
	/* "10.0.0.256" must not become a host name */
	return alpha && !last_numeric;
}

/*
 * Parse one address word (after substitution) into a.  Ports are not
 * part of the word.  On error returns -EINVAL and writes a message.
 */
int conf_addr_parse(const char *text, struct conf_addr *a, char *err,
		    size_t errlen)
{
	char buf[300];
	char *slash, *pct;
	size_t len = strlen(text);
	unsigned long plen = 0;
	bool has_plen = false;

	memset(a, 0, sizeof(*a));
	if (len == 0) {
		snprintf(err, errlen, "empty address");
		return -EINVAL;
	}
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "address too long (%zu characters)", len);
		return -EINVAL;
	}
	memcpy(buf, text, len + 1);

	slash = strrchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		if (!isdigit((unsigned char)slash[1])) {
			snprintf(err, errlen,
				 "expected a prefix length after '/' in '%s'",
				 text);
			return -EINVAL;
		}
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || errno || plen > 128) {
			snprintf(err, errlen, "bad prefix length in '%s'",
				 text);
			return -EINVAL;
		}
		has_plen = true;
	}

	pct = strchr(buf, '%');
	if (pct) {
		*pct = '\0';
		if (pct[1] == '\0' || strlen(pct + 1) >= IF_NAMESIZE ||
		    strpbrk(pct + 1, "%/:")) {
			snprintf(err, errlen,
				 "bad interface name after '%%' in '%s'", text);
			return -EINVAL;
		}
		snprintf(a->ifname, sizeof(a->ifname), "%s", pct + 1);
	}

	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strcmp(buf, macros[i].name) != 0)
			continue;
		a->kind = macros[i].kind;
		if (pct && !conf_addr_is_macro(a)) {
			snprintf(err, errlen,
				 "'%%ifname' is only valid after MY_IP macros");
			return -EINVAL;
		}
		if (has_plen) {
			snprintf(err, errlen,
				 "a prefix length is not valid after %s",
				 macros[i].name);
			return -EINVAL;
		}
		return 0;
	}

	if (inet_pton(AF_INET, buf, &a->u.v4) == 1) {
		if (pct) {
			snprintf(err, errlen,
				 "'%%' scope is not valid on IPv4 address '%s'",
				 text);
			return -EINVAL;
		}
		if (plen > 32) {
			snprintf(err, errlen,
				 "prefix length %lu too long for IPv4 (max 32)",
				 plen);
			return -EINVAL;
		}
		a->kind = CONF_ADDR_IP;
		a->af = AF_INET;
		a->plen = has_plen ? (uint8_t)plen : 32;
		a->has_plen = has_plen;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &a->u.v6) == 1) {
		a->kind = CONF_ADDR_IP;
		a->af = AF_INET6;
		a->plen = has_plen ? (uint8_t)plen : 128;
		a->has_plen = has_plen;
		return 0;
	}
	if (strncmp(buf, "MY_", 3) == 0 || strncmp(buf, "IP_", 3) == 0) {
		snprintf(err, errlen,
			 "unknown address macro '%s' (expected MY_IP, MY_IPV4, "
			 "MY_IPV6, MY_IPV6_GLOBAL, MY_IPV6_LINKLOCAL, IP_ANY "
			 "or IP_RW)",
			 buf);
		return -EINVAL;
	}
	if (!pct && !has_plen && valid_hostname(buf)) {
		a->kind = CONF_ADDR_NAME;
		a->name = strdup(buf);
		if (!a->name) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	snprintf(err, errlen, "invalid address '%s'", text);
	return -EINVAL;
}

const char *conf_addr_str(const struct conf_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	switch (a->kind) {
	case CONF_ADDR_UNSET:
		n = snprintf(buf, len, "(unset)");
		break;
	case CONF_ADDR_IP:
		if (!inet_ntop(a->af, a->u.b, ip, sizeof(ip)))
			snprintf(ip, sizeof(ip), "?");
		n = snprintf(buf, len, "%s", ip);
		if (n >= 0 && (size_t)n < len && a->ifname[0])
			n += snprintf(buf + n, len - (size_t)n, "%%%s",
				      a->ifname);
		if (n >= 0 && (size_t)n < len && a->has_plen)
			n += snprintf(buf + n, len - (size_t)n, "/%u", a->plen);
		break;
	case CONF_ADDR_NAME:
		n = snprintf(buf, len, "%s", a->name ? a->name : "");
		break;
	case CONF_ADDR_UNIX:
		n = snprintf(buf, len, "unix %s", a->name ? a->name : "");
		break;
	default:
		n = snprintf(buf, len, "%s", macro_name(a->kind));
		if (n >= 0 && (size_t)n < len && a->ifname[0])
			snprintf(buf + n, len - (size_t)n, "%%%s", a->ifname);
		break;
	}
	(void)n;
	return buf;
}

static int emit(conf_addr_cb cb, void *arg, int af, const void *addr,
		uint16_t port, unsigned plen, uint32_t scope)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_scope_id = scope;
		sl = sizeof(*s6);
	}
	return cb((struct sockaddr *)&ss, sl, plen, arg);
}

static bool macro_wants(const struct conf_addr *a, const struct ifaddrs *ifa)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return false;
	if (a->ifname[0] && strcmp(a->ifname, ifa->ifa_name) != 0)
		return false;
	switch (a->kind) {
	case CONF_ADDR_MY_IP:
		return true;
	case CONF_ADDR_MY_IPV4:
		return sa->sa_family == AF_INET;
	case CONF_ADDR_MY_IPV6:
		return sa->sa_family == AF_INET6;
	case CONF_ADDR_MY_IPV6_GLOBAL:
	case CONF_ADDR_MY_IPV6_LINKLOCAL: {
		const struct sockaddr_in6 *s6;
		bool ll;
		if (sa->sa_family != AF_INET6)
			return false;
		s6 = (const struct sockaddr_in6 *)sa;
		ll = IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr);
		if (a->kind == CONF_ADDR_MY_IPV6_LINKLOCAL)
			return ll;
		return !ll && !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_SITELOCAL(&s6->sin6_addr);
	}
	default:
		return false;
	}
}

#define CONF_NAME_ADDR_MAX 32

static conf_name_resolver name_resolver;
static void *name_resolver_arg;

void conf_set_name_resolver(conf_name_resolver fn, void *arg)
{
	name_resolver = fn;
	name_resolver_arg = arg;
}

int conf_addr_expand(const struct conf_addr *a, conf_addr_cb cb, void *arg)
{
	int rc = 0;

	switch (a->kind) {
	case CONF_ADDR_IP: {
		uint32_t scope = a->scope_id;
		if (!scope && a->ifname[0])
			scope = if_nametoindex(a->ifname);
		return emit(cb, arg, a->af, a->u.b, a->port, a->plen, scope);
	}
	case CONF_ADDR_ANY: {
		static const uint8_t zero[16];
		rc = emit(cb, arg, AF_INET, zero, a->port, 0, 0);
		if (rc)
			return rc;
		return emit(cb, arg, AF_INET6, zero, a->port, 0, 0);
	}
	case CONF_ADDR_NAME: {
		struct addrinfo hints, *res, *ai;
		int gai;

		if (name_resolver) {
			struct conf_name_addr out[CONF_NAME_ADDR_MAX];
			int n = name_resolver(name_resolver_arg, a->name, out,
					      CONF_NAME_ADDR_MAX);

			if (n <= 0)
				return n < 0 ? n : -EHOSTUNREACH;
			for (int i = 0; i < n && !rc; i++)
				rc = emit(cb, arg, out[i].af, out[i].a, a->port,
					  out[i].af == AF_INET ? 32 : 128, 0);
			return rc;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_DGRAM;
		gai = getaddrinfo(a->name, NULL, &hints, &res);
		if (gai != 0)
			return -EHOSTUNREACH;
		for (ai = res; ai && !rc; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET) {
				const struct sockaddr_in *s4 =
				    (const void *)ai->ai_addr;
				rc = emit(cb, arg, AF_INET, &s4->sin_addr,
					  a->port, 32, 0);
			} else if (ai->ai_family == AF_INET6) {
				const struct sockaddr_in6 *s6 =
				    (const void *)ai->ai_addr;
				rc = emit(cb, arg, AF_INET6, &s6->sin6_addr,
					  a->port, 128, s6->sin6_scope_id);
			}
		}
		freeaddrinfo(res);
		return rc;
	}
	case CONF_ADDR_MY_IP:
	case CONF_ADDR_MY_IPV4:
	case CONF_ADDR_MY_IPV6:
	case CONF_ADDR_MY_IPV6_GLOBAL:
	case CONF_ADDR_MY_IPV6_LINKLOCAL: {
		struct ifaddrs *ifs, *ifa;
		if (getifaddrs(&ifs) != 0)
			return -errno;
		for (ifa = ifs; ifa && !rc; ifa = ifa->ifa_next) {
			if (!macro_wants(a, ifa))
				continue;
			if (ifa->ifa_addr->sa_family == AF_INET) {
				const struct sockaddr_in *s4 =
				    (const void *)ifa->ifa_addr;
				rc = emit(cb, arg, AF_INET, &s4->sin_addr,
					  a->port, 32, 0);
			} else {
				const struct sockaddr_in6 *s6 =
				    (const void *)ifa->ifa_addr;
				rc = emit(cb, arg, AF_INET6, &s6->sin6_addr,
					  a->port, 128, s6->sin6_scope_id);
			}
		}
		freeifaddrs(ifs);
		return rc;
	}
	default:
		return 0;
	}
}

/* Compare the first plen bits of two addresses. */
static bool prefix_eq(const uint8_t *x, const uint8_t *y, unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (memcmp(x, y, bytes) != 0)
		return false;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		if ((x[bytes] & mask) != (y[bytes] & mask))
			return false;
	}
	return true;
}

struct match_arg {
	const struct sockaddr *sa;
	bool found;
};

static int sa_addr(const struct sockaddr *sa, const uint8_t **p, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		*p = (const uint8_t *)&s4->sin_addr;
		*port = ntohs(s4->sin_port);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		*p = (const uint8_t *)&s6->sin6_addr;
		*port = ntohs(s6->sin6_port);
		return AF_INET6;
	}
	return 0;
}

static int match_cb(const struct sockaddr *sa, socklen_t salen, unsigned plen,
		    void *arg)
{
	struct match_arg *m = arg;
	const uint8_t *x = NULL, *y = NULL;
	uint16_t px, py;
	int afx = sa_addr(sa, &x, &px), afy = sa_addr(m->sa, &y, &py);

	(void)salen;
	if (afx && afx == afy && prefix_eq(x, y, plen)) {
		m->found = true;
		return 1;
	}
	return 0;
}

bool conf_addr_match(const struct conf_addr *a, const struct sockaddr *sa)
{
	const uint8_t *p;
	uint16_t port;
	int af = sa_addr(sa, &p, &port);
	struct match_arg m = {sa, false};

	if (!af)
		return false;
	if (a->port != CONF_PORT_ANY && port != 0 && port != a->port)
		return false;
	switch (a->kind) {
	case CONF_ADDR_ANY:
	case CONF_ADDR_RW:
		return true;
	case CONF_ADDR_IP:
		return a->af == af && prefix_eq(a->u.b, p, a->plen);
	case CONF_ADDR_UNSET:
	case CONF_ADDR_UNIX:
		return false;
	default:
		conf_addr_expand(a, match_cb, &m);
		return m.found;
	}
}
