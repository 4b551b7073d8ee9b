#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int listen_unix(const char *path, mode_t mode, gid_t gid) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        char dir[sizeof sa.sun_path];
        char *slash;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path) {
                log_error("socket path %s is too long", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        snprintf(dir, sizeof dir, "%s", path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(negerrno(), "cannot create %s", dir);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(negerrno(), "socket");
        /* Born with MODE: no moment when others may connect. */
        old = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        umask(old);
        if (r < 0) {
                int probe, live;
                if (errno != EADDRINUSE)
                        return log_error_errno(negerrno(), "cannot bind %s", path);
                probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
                if (probe >= 0)
                        close(probe);
                if (live) {
                        log_error("another process is serving %s", path);
                        return -EADDRINUSE;
                }
                (void)unlink(path);
                old = umask(~mode & 0777);
                r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
                umask(old);
                if (r < 0)
                        return log_error_errno(negerrno(), "cannot bind %s", path);
        }
        if ((gid != (gid_t)-1 && fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) ||
            listen(fd, SOMAXCONN) < 0)
                return log_error_errno(negerrno(), "cannot listen on %s", path);
        return TAKE_FD(fd);
}

