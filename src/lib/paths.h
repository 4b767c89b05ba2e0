/*
 * paths.h - racoon2's installation paths, one definition.
 *
 * R2_RUNDIR (meson option -Drundir, default /run/racoon2) holds every
 * daemon's sockets and pid files and the empty chroot of the
 * unprivileged processes; SYSCONFDIR comes from meson's sysconfdir.
 * Both are passed by meson.build; the fallbacks serve other builds.
 */
#ifndef RACOON_PATHS_H
#define RACOON_PATHS_H

#ifndef R2_RUNDIR
#define R2_RUNDIR "/run/racoon2"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define R2_CONF_PATH  SYSCONFDIR "/racoon2/racoon2.conf"
#define R2_CHROOT_DIR R2_RUNDIR "/empty" /* root-owned, empty, 0755 */

#define R2_SPMIF_SOCKET R2_RUNDIR "/spmif"
#define R2_SPMD_PIDFILE R2_RUNDIR "/spmd.pid"
#define R2_IKED_SOCKET	R2_RUNDIR "/iked.sock"
#define R2_KINKD_SOCKET R2_RUNDIR "/kinkd.sock"
#define R2_ESPD_SOCKET	R2_RUNDIR "/r2espd.sock"

#endif
