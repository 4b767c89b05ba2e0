/*
 * priv.h - iked's privilege separation (after OpenBSD iked).
 *
 * Two processes:
 *
 *   parent (root)                         engine (unprivileged)
 *   - the real kernel backend             - UDP 500/4500: every peer packet,
 *   - reads the configuration, PSK,         X.509, IKE state, the SA table
 *     certificate and key files           - ikedctl's control socket
 *   - connects to spmd (and logs in)      - chroot to an empty directory,
 *   - runs the script hooks                 user _racoon2, no capabilities,
 *   - adds/removes road-warrior             no_new_privs, seccomp allowlist
 *     addresses (CP) on the host
 *   - forwards kernel events
 *
 * They talk over three SOCK_SEQPACKET socketpairs made before the fork:
 *   kernel requests and kernel events: the userspace backend's protocol
 *   (esp_msg.h), served by kproxy.c, which holds the engine to the SAs and
 *   policies it created; and this "priv" channel, in the same codec style
 *   (espm_hdr, then big-endian fields through wr/rd), for the rest.  The
 *   engine calls; the parent answers (it never writes unasked on the
 *   priv channel: SIGHUP/SIGTERM reach the engine as signals).
 *
 * Priv messages (engine -> parent; status < 0 = refused, body = reason):
 *   PRIV_READY    (no reply) the engine bound its sockets and entered the
 *                 sandbox.
 *   PRIV_SPMD     reply: status; on success one descriptor (SCM_RIGHTS):
 *                 a connection to spmd's spmif socket, already logged in
 *                 with the password file (the engine then registers).
 *   PRIV_SCRIPT   u8 event, str remote, u8 n, n x (str name, str value);
 *                 no reply.  The parent runs the script the *parent's*
 *                 configuration names for that remote and event; names
 *                 must be from the fixed list of script.c, values
 *                 printable.
 *   PRIV_ADDR     u8 add, kaddr, str ifname; reply: status.  Only on the
 *                 CP interface, host addresses, and a delete only of an
 *                 address the parent added.
 *   PRIV_RELOAD   reply: ITEMs (the files of the configuration, see
 *                 lib/filesrc.h; private keys withheld), then REPLY
 *                 (status; reason).
 *   PRIV_SIGN     str remote, u32 peer hash set, octets (the rest); reply:
 *                 u8 AUTH method, signature (the rest).  The parent signs
 *                 with the key of *its* configuration for that remote;
 *                 the engine never holds a private key.  With
 *                 AUTH_SIGN_IKEV1 in the hash set (auth_cert.h) the
 *                 octets are an IKEv1 HASH_I/HASH_R (16-64 octets),
 *                 signed prehashed with the key of the remote's ikev1
 *                 block (RFC 2409 §5.1); the reply's method is then the
 *                 Phase 1 authentication method.
 *
 * The parent exits when the engine exits (after removing the SAs and
 * policies the engine left, kproxy_cleanup); the engine has a parent-
 * death signal (SIGKILL), so neither outlives the other.
 */
#ifndef IKED_PRIV_H
#define IKED_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

enum priv_type {
	PRIV_READY = 0x40,
	PRIV_SPMD,
	PRIV_SCRIPT,
	PRIV_ADDR,
	PRIV_RELOAD,
	PRIV_SIGN,
};

#define PRIV_MAX	 65536 /* largest priv message */
#define PRIV_SCRIPT_VARS 24
#define PRIV_VALUE_MAX	 512

/* The engine's end of the priv channel; -1 when not separated. */
extern int priv_fd;

/* ---- engine side (priv_client.c) ---- */
int priv_send_ready(void);
/* A logged-in spmif connection, or negative errno. */
int priv_spmd_connect(void);
/* Asks the parent to run the remote's script for event `which`. */
struct priv_env {
	size_t n;
	char name[PRIV_SCRIPT_VARS][32];
	char value[PRIV_SCRIPT_VARS][PRIV_VALUE_MAX];
};
void priv_script(unsigned which, const char *remote,
		 const struct priv_env *env);
int priv_addr(const struct kaddr *a, const char *ifname, bool add);
/* Fetches the parent's fresh reading of the configuration files into
 * the file source (lib/util.h); 0 or negative errno (reason in err). */
int priv_reload_files(char *err, size_t errlen);

struct auth_sig;
/* The AUTH signature of octets by the remote's key, made by the parent. */
int priv_sign(const char *remote, uint32_t hashes, const uint8_t *octets,
	      size_t len, struct auth_sig *out);

/* Send / receive one message with an optional descriptor. */
int priv_sendmsg(int fd, const void *buf, size_t len, int pass_fd);
ssize_t priv_recvmsg(int fd, void *buf, size_t len, int *got_fd);

#endif
