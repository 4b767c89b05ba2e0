/*
 * kproxy_fuzz.c - libFuzzer harness for iked's privileged parent's
 * server of the engine's kernel requests (src/ike/kproxy.c:
 * kproxy_request), the parent's whole attack surface towards a
 * compromised engine: HELLO, GETSPI, SA add/update/del/query, policy
 * add/update/del, MIGRATE, refused types, and ESPM_BATCH (bad counts,
 * truncated and trailing requests, nested batches, batches of refused
 * requests).  Behind it: the fake backend, where one foreign SA and one
 * foreign policy (spmd's) are installed first.
 *
 * Input: one flags octet (bit 0: the requests are served between
 * kproxy_batch_begin and _end, as the parent does for several datagrams
 * read in one wakeup), then a sequence of messages, each a big-endian
 * u16 length then that many octets (one SOCK_SEQPACKET datagram, at
 * most ESPM_MAX).  Every reply is read back and must be a well-formed
 * ESPM_REPLY with status 0 or a negative errno; a batch's body must
 * frame its replies exactly.  At the end kproxy_cleanup() must leave
 * the backend with exactly the foreign SA and policy: whatever the
 * engine made is removed, nothing of anyone else's is touched.
 *
 * With KPROXY_FUZZ_GEN=DIR set, the replay binary writes the seed corpus
 * into DIR instead (see tests/corpus/kproxy).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../espm_seed.h"
#include "ike/kproxy.h"
#include "kernel/userspace/esp_msg.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kpolicy pol(enum kdir dir)
{
	struct kpolicy p = seed_pol(dir);

	p.priority = 1000;
	return p;
}

/* A reply message: well-formed, status 0 or a negative errno; when its
 * body frames as (u16 length, reply message) items, as a batch's reply
 * does, each item's status too. */
static void check_reply(const uint8_t *buf, size_t len)
{
	struct rd r = rd_init(buf, len), sub;
	struct espm_hdr h, sh;
	uint16_t l;

	if (espm_get_hdr(&r, &h) < 0 || h.type != ESPM_REPLY || h.status > 0)
		abort();
	while (h.status == 0 && !rd_empty(&r)) {
		if (rd_u16(&r, &l) < 0 || rd_sub(&r, l, &sub) < 0 ||
		    espm_get_hdr(&sub, &sh) < 0 || sh.type != ESPM_REPLY)
			break; /* not a batch's reply */
		if (sh.status > 0)
			abort();
	}
}

static void drain(int fd)
{
	uint8_t buf[ESPM_MAX + 1];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		check_reply(buf, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct kernel k;
	struct kproxy *kp;
	struct ksa fsa;
	struct kpolicy fpol;
	bool defer;
	int sv[2];

	if (!init) {
		/* KPROXY_FUZZ_VERBOSE: see which requests are refused */
		log_init("fuzz", LOG_TO_STDERR,
			 getenv("KPROXY_FUZZ_VERBOSE") ? LOG_LVL_INFO
						       : LOG_LVL_ERR);
		init = true;
	}
	if (size < 1)
		return 0;
	defer = data[0] & 1;
	data++;
	size--;
	memset(&k, 0, sizeof(k));
	if (k_open(&k, "fake", 0) < 0)
		abort();
	/* spmd's: the engine may not touch them */
	fsa = seed_sa(0x5000, false);
	fpol = pol(KDIR_OUT);
	if (k_sa_add(&k, &fsa) < 0 || k_pol_add(&k, &fpol) < 0)
		abort();
	kp = kproxy_new(&k);
	if (!kp ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (defer)
		kproxy_batch_begin(kp);
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > ESPM_MAX)
			len = ESPM_MAX;
		kproxy_request(kp, sv[0], data, len);
		if (!defer)
			drain(sv[1]);
		data += len;
		size -= len;
	}
	if (defer)
		kproxy_batch_end(kp);
	drain(sv[1]);
	kproxy_cleanup(kp);
	if (kproxy_sa_count(kp) || kproxy_pol_count(kp))
		abort();
	/* exactly the foreign SA and policy are left */
	if (kfake_sa_count(&k) != 1 || kfake_pol_count(&k) != 1 ||
	    k_sa_query(&k, IPPROTO_ESP, &fsa.dst, fsa.spi,
		       &(struct kcounters){0}) < 0)
		abort();
	kproxy_free(kp);
	k_close(&k);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

#ifdef KPROXY_FUZZ_GEN
/* ---- seed corpus ---- */

static void b_hello(struct wr *w)
{
	wr_u32(w, ESPM_VERSION);
	wr_u32(w, 0);
}

static void b_sa_add(struct wr *w)
{
	struct ksa k = seed_sa(0x1000, false);

	espm_put_ksa(w, &k, true);
}

static void b_sa_foreign(struct wr *w)
{
	struct ksa k = seed_sa(0x5000, true);

	espm_put_ksa(w, &k, true);
}

static void b_said(struct wr *w)
{
	seed_said(w, 0x1000);
}

static void b_said_foreign(struct wr *w)
{
	seed_said(w, 0x5000);
}

static void b_getspi(struct wr *w)
{
	seed_getspi(w, "198.51.100.1", "198.51.100.2");
}

static void b_pol_in(struct wr *w)
{
	struct kpolicy p = pol(KDIR_IN);

	espm_put_kpolicy(w, &p);
}

static void b_pol_fwd(struct wr *w)
{
	struct kpolicy p = pol(KDIR_FWD);

	espm_put_kpolicy(w, &p);
}

static void b_pol_idx(struct wr *w)
{
	/* an index the engine names itself: refused */
	struct kpolicy p = pol(KDIR_IN);

	p.index = KPOL_INDEX_MAGIC << 24 | 8 | KDIR_IN;
	espm_put_kpolicy(w, &p);
}

static void b_migrate(struct wr *w)
{
	seed_migrate(w);
}

/* the body of the batch being built: n requests */
static struct wr batch;
static uint8_t batch_n;

static void batch_add(uint16_t type, void (*body)(struct wr *))
{
	seed_msg(&batch, type, 100 + batch_n, body);
	batch_n++;
}

static void b_batch(struct wr *w)
{
	wr_u8(w, batch_n);
	wr_bytes(w, batch.buf, batch.len);
	wr_reset(&batch);
	batch_n = 0;
}

static void flags(struct wr *f, uint8_t v)
{
	wr_u8(f, v);
}

static void gen(const char *dir)
{
	struct wr f, raw;

	wr_init(&f, 1 << 20);
	wr_init(&batch, ESPM_MAX);
	/* singles, the ownership checks */
	flags(&f, 0);
	seed_msg(&f, ESPM_HELLO, 1, b_hello);
	seed_msg(&f, ESPM_GETSPI, 2, b_getspi);
	seed_msg(&f, ESPM_SA_ADD, 3, b_sa_add);
	seed_msg(&f, ESPM_SA_QUERY, 4, b_said);
	seed_msg(&f, ESPM_SA_ADD, 5, b_sa_foreign);
	seed_msg(&f, ESPM_SA_DEL, 6, b_said_foreign);
	seed_msg(&f, ESPM_POL_ADD, 7, b_pol_in);
	seed_msg(&f, ESPM_POL_ADD, 8, b_pol_idx);
	seed_msg(&f, ESPM_MIGRATE, 9, b_migrate);
	seed_msg(&f, ESPM_SA_DUMP, 10, NULL);
	seed_msg(&f, ESPM_FLUSH_OWN, 11, NULL);
	seed_msg(&f, ESPM_SA_DEL, 12, b_said);
	seed_save(dir, "singles", &f);
	/* a road warrior's CHILD SA: policies + GETSPI, then the SAs,
	 * then its removal, each one batch (rw.c, child.c) */
	flags(&f, 0);
	batch_add(ESPM_POL_ADD, b_pol_in);
	batch_add(ESPM_POL_ADD, b_pol_fwd);
	batch_add(ESPM_GETSPI, b_getspi);
	seed_msg(&f, ESPM_BATCH, 1, b_batch);
	batch_add(ESPM_SA_ADD, b_sa_add);
	batch_add(ESPM_SA_QUERY, b_said);
	seed_msg(&f, ESPM_BATCH, 2, b_batch);
	batch_add(ESPM_SA_DEL, b_said);
	batch_add(ESPM_POL_DEL, b_pol_idx);
	batch_add(ESPM_SA_DEL, b_said_foreign);
	seed_msg(&f, ESPM_BATCH, 3, b_batch);
	seed_save(dir, "batches", &f);
	/* the same, the replies of several datagrams held (one sendmmsg) */
	flags(&f, 1);
	batch_add(ESPM_GETSPI, b_getspi);
	batch_add(ESPM_GETSPI, b_getspi);
	seed_msg(&f, ESPM_BATCH, 1, b_batch);
	seed_msg(&f, ESPM_SA_ADD, 2, b_sa_add);
	seed_msg(&f, ESPM_HELLO, 3, b_hello);
	seed_save(dir, "deferred", &f);
	/* a batch in a batch: refused inside, the outer one served */
	flags(&f, 0);
	batch_add(ESPM_HELLO, b_hello);
	{
		struct wr inner;
		wr_init(&inner, ESPM_MAX);
		seed_msg(&inner, ESPM_BATCH, 7, b_batch);
		batch_add(ESPM_GETSPI, b_getspi);
		/* inner is (u16 len, message): splice it as one request */
		wr_bytes(&batch, inner.buf, inner.len);
		batch_n++;
		wr_free(&inner);
	}
	seed_msg(&f, ESPM_BATCH, 8, b_batch);
	seed_save(dir, "nested", &f);
	/* framing errors: count 0, count above the maximum, a request
	 * truncated, trailing octets, an empty sub-request */
	wr_init(&raw, ESPM_MAX);
	flags(&f, 0);
	{
		struct espm_hdr h = {.type = ESPM_BATCH, .seq = 1};
		static const uint8_t tails[][8] = {
		    {0},			/* n = 0 */
		    {ESPM_BATCH_MAX + 1, 0, 0}, /* n too big */
		    {2, 0, 4, 0, 1, 0, 0},	/* truncated */
		    {1, 0, 0, 0xff},		/* trailing */
		    {1, 0, 0},			/* empty request */
		    {1, 0, 2, 0, 1},		/* short header */
		};
		static const size_t tlen[] = {1, 3, 7, 4, 3, 5};
		for (size_t i = 0; i < sizeof(tlen) / sizeof(tlen[0]); i++) {
			espm_put_hdr(&raw, &h);
			wr_bytes(&raw, tails[i], tlen[i]);
			wr_u16(&f, (uint16_t)raw.len);
			wr_bytes(&f, raw.buf, raw.len);
			wr_reset(&raw);
		}
	}
	seed_save(dir, "framing", &f);
	wr_free(&raw);
	wr_free(&batch);
	wr_free(&f);
}

__attribute__((constructor)) static void maybe_gen(void)
{
	const char *dir = getenv("KPROXY_FUZZ_GEN");

	if (dir && *dir) {
		gen(dir);
		exit(0);
	}
}
#endif
