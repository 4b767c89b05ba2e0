/*
 * espctl_fuzz.c - libFuzzer harness for r2espd's control-socket request
 * handling (espd.c: espd_ctl_msg, the function each control datagram goes
 * through): HELLO, GETSPI, SA add/update/del/query/get/dump, policy
 * add/update/del/dump, FLUSH_OWN, STATS, MIGRATE, unknown types.
 *
 * Input: a sequence of messages, each a big-endian u16 length then that
 * many octets (one SOCK_SEQPACKET datagram, at most ESPM_MAX), handed to
 * espd_ctl_msg() for client slot 0, whose socket is one end of a
 * socketpair; the answers are drained from the other end after every
 * message and each must start with a well-formed header.  The daemon's
 * packet path (routes, queued packets) is stubbed: espd_route() and
 * espd_queue_flush() do nothing.  State is rebuilt per input: all SAs
 * (wiped) and policies are freed, the client slot and socketpair are
 * new.
 *
 * With ESPCTL_FUZZ_GEN=DIR set, the replay binary writes the seed corpus
 * into DIR instead (see tests/corpus/espctl).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../espm_seed.h"
#include "kernel/userspace/esp.h"
#include "kernel/userspace/esp_msg.h"
#include "kernel/userspace/espd.h"
#include "lib/ev.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* espd_net.c is not linked: tests/unit/esp/espd_net_stub.c */
static struct espd d;

static void drain(int fd)
{
	uint8_t buf[ESPM_MAX + 1];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct rd r = rd_init(buf, (size_t)n);
		struct espm_hdr h;

		if (espm_get_hdr(&r, &h) < 0 ||
		    (h.type != ESPM_REPLY && h.type != ESPM_ITEM &&
		     h.type != ESPM_EVENT) ||
		    h.status > 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (!d.loop) {
		/* ESPCTL_FUZZ_VERBOSE: see which requests are refused */
		log_init("fuzz", LOG_TO_STDERR,
			 getenv("ESPCTL_FUZZ_VERBOSE") ? LOG_LVL_INFO
						       : LOG_LVL_ERR);
		d.loop = ev_new();
		if (!d.loop)
			abort();
	}
	for (int i = 0; i < ESPD_MAX_CLIENTS; i++)
		d.cli[i].fd = -1;
	d.ctl_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	d.cli[0].fd = sv[0];
	d.cli[0].events = false;
	while (size >= 2 && d.cli[0].fd >= 0) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > ESPM_MAX)
			len = ESPM_MAX;
		espd_ctl_msg(&d, 0, data, len);
		drain(sv[1]);
		data += len;
		size -= len;
	}
	espd_state_free(&d);
	if (d.cli[0].fd >= 0)
		close(d.cli[0].fd);
	d.cli[0].fd = -1;
	close(sv[1]);
	return 0;
}

#ifdef ESPCTL_FUZZ_GEN
/* ---- seed corpus ----------------------------------------------------------
 */

static void b_hello(struct wr *w)
{
	wr_u32(w, ESPM_VERSION);
	wr_u32(w, ESPM_F_EVENTS);
}

static struct ksa sa_k(uint32_t spi, bool update)
{
	struct ksa k = seed_sa(spi, update);

	k.lft.hard_bytes = 1000;
	return k;
}

static void b_sa_add(struct wr *w)
{
	struct ksa k = sa_k(0x1000, false);

	espm_put_ksa(w, &k, true);
}

static void b_sa_upd(struct wr *w)
{
	struct ksa k = sa_k(0x1000, true);

	k.encap.enabled = true;
	k.encap.sport = k.encap.dport = 4500;
	espm_put_ksa(w, &k, true);
}

static void b_said(struct wr *w)
{
	seed_said(w, 0x1000);
}

static void b_getspi(struct wr *w)
{
	seed_getspi(w, "198.51.100.2", "198.51.100.1");
}

static struct kpolicy pol(enum kdir dir)
{
	struct kpolicy p = seed_pol(dir);

	p.hard_add_expires_sec = 60;
	return p;
}

static void b_pol_out(struct wr *w)
{
	struct kpolicy p = pol(KDIR_OUT);

	espm_put_kpolicy(w, &p);
}

static void b_pol_in(struct wr *w)
{
	struct kpolicy p = pol(KDIR_IN);

	espm_put_kpolicy(w, &p);
}

static void b_pol_transport(struct wr *w)
{
	struct kpolicy p = pol(KDIR_OUT);

	p.tmpl[0].mode = KMODE_TRANSPORT;
	espm_put_kpolicy(w, &p);
}

static void b_migrate(struct wr *w)
{
	seed_migrate(w);
}

static void gen(const char *dir)
{
	struct wr f;

	wr_init(&f, 1 << 20);
	seed_msg(&f, ESPM_HELLO, 1, b_hello);
	seed_msg(&f, ESPM_STATS, 2, NULL);
	seed_save(dir, "hello-stats", &f);
	seed_msg(&f, ESPM_GETSPI, 1, b_getspi);
	seed_msg(&f, ESPM_SA_ADD, 2, b_sa_add);
	seed_msg(&f, ESPM_SA_QUERY, 3, b_said);
	seed_msg(&f, ESPM_SA_GET, 4, b_said);
	seed_msg(&f, ESPM_SA_DUMP, 5, NULL);
	seed_msg(&f, ESPM_SA_DEL, 6, b_said);
	seed_save(dir, "sa-lifecycle", &f);
	seed_msg(&f, ESPM_GETSPI, 1, b_getspi);
	seed_msg(&f, ESPM_SA_ADD, 2, b_sa_upd);
	seed_msg(&f, ESPM_SA_DUMP, 3, NULL);
	seed_save(dir, "getspi-update-natt", &f);
	seed_msg(&f, ESPM_HELLO, 1, b_hello);
	seed_msg(&f, ESPM_POL_ADD, 2, b_pol_out);
	seed_msg(&f, ESPM_POL_ADD, 3, b_pol_in);
	seed_msg(&f, ESPM_POL_ADD, 4, b_pol_out);
	seed_msg(&f, ESPM_POL_UPDATE, 5, b_pol_out);
	seed_msg(&f, ESPM_POL_DUMP, 6, NULL);
	seed_msg(&f, ESPM_POL_DEL, 7, b_pol_in);
	seed_msg(&f, ESPM_POL_ADD, 8, b_pol_transport);
	seed_msg(&f, ESPM_FLUSH_OWN, 9, NULL);
	seed_save(dir, "policies", &f);
	seed_msg(&f, ESPM_SA_ADD, 1, b_sa_add);
	seed_msg(&f, ESPM_POL_ADD, 2, b_pol_out);
	seed_msg(&f, ESPM_SA_ADD, 3, b_sa_add); /* exists */
	seed_msg(&f, ESPM_SA_DUMP, 4, NULL);
	seed_msg(&f, ESPM_POL_DUMP, 5, NULL);
	seed_msg(&f, 77, 6, NULL); /* unknown type */
	seed_save(dir, "mixed", &f);
	seed_msg(&f, ESPM_HELLO, 1, b_hello);
	seed_msg(&f, ESPM_SA_ADD, 2, b_sa_add);
	seed_msg(&f, ESPM_POL_ADD, 3, b_pol_out);
	seed_msg(&f, ESPM_MIGRATE, 4, b_migrate);
	seed_msg(&f, ESPM_MIGRATE, 5, b_migrate); /* ENODATA now */
	seed_msg(&f, ESPM_SA_DUMP, 6, NULL);
	seed_save(dir, "migrate", &f);
	wr_u16(&f, 5);
	wr_bytes(&f, "\0\1\0\0\0", 5); /* short header */
	seed_save(dir, "short", &f);
	wr_free(&f);
}

__attribute__((constructor)) static void maybe_gen(void)
{
	const char *dir = getenv("ESPCTL_FUZZ_GEN");

	if (dir && *dir) {
		gen(dir);
		exit(0);
	}
}
#endif
