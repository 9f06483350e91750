/*
 * control - the worker's control socket: where tiedote commands send the
 * staff's writes while tiedoted runs (docs/control.md is the contract).
 *
 * A ROUTER socket bound at control.endpoint, which must be ipc://PATH
 * (default: ipc://DIR/tiedote.control, DIR that of store.path; see
 * control_endpoint()).  The socket file is made mode 0660 at bind (umask,
 * then chmod): its mode and its directory's are the access control, so a
 * tcp:// endpoint is refused until CurveZMQ authenticates one, and so is an
 * abstract ipc://@name, which has no file mode.  A stale file of a worker
 * that died is removed before the bind; the caller holds the lock file
 * (admin.h), so no live worker of its database owns it, and a socket file
 * something listens on (another database's worker: the default name is
 * per directory) is an error, never taken over.
 *
 * When the loop finds the socket readable, the control reads ONE request
 * (identity, empty delimiter, one body frame), runs it with admin_handle()
 * on the borrowed store (the intake's handle) and replies after its
 * COMMIT; the next request waits for the next loop turn, so a stream of
 * import chunks never keeps the intake waiting longer than one chunk.
 * Each request is one log line (op, outcome, milliseconds).  A frame over
 * 4 x ADMIN_REQUEST_MAX is dropped by ZeroMQ (no reply); a smaller
 * oversize one gets "too_large".  A request with other frames gets
 * "bad_frames".  Nothing a request holds can crash the worker.  After
 * the reply to a request that succeeded, the control_on_write() callback
 * is called with its op (what else in the worker it concerns is the
 * worker's to say).
 *
 * Ownership: the control borrows the store and conf; control_close()
 * closes its socket and removes its file (call it before letting go of
 * the lock).  Threads: the loop's.
 */
#ifndef TIEDOTE_CONTROL_H
#define TIEDOTE_CONTROL_H

#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "store.h"

#define CONTROL_DEFAULT_NAME	"tiedote.control"	/* beside store.path */
#define CONTROL_PATH_MAX	107	/* sun_path, less its NUL */

typedef struct control control_t;

/* control_endpoint - control.endpoint, or the default beside store.path,
 * into out as "ipc://PATH"; and PATH into path when not NULL.  0, or -1
 * with err naming the setting (tcp://, an abstract or too long path). */
int	   control_endpoint(const conf_t *, buf_t *out, buf_t *path, buf_t *err);
/* control_conf_check - control_endpoint(), and nothing but a socket (a
 * worker's that died) at its path: 0, or -1 with one line in err */
int	   control_conf_check(const conf_t *, buf_t *err);
/* control_answers - 1 when a worker listens on control.endpoint now (of
 * this database, or of another in the same directory) */
int	   control_answers(const conf_t *);
control_t *control_open(void *zmq_ctx, const conf_t *, store_t *, buf_t *err);
/* control_attach - its socket joins the loop; control_pause - no more
 * requests are read (at shutdown) */
int	   control_attach(control_t *, loop_t *);
void	   control_pause(control_t *);
/* control_disk_low - on: the ops that add data (subscriber.add, the
 * import's begin, rows and commit, project.add, announce.store,
 * issue.approve, issue.send_now, inbound.deliver, inbound.mailbox_sync,
 * web.subscribe, web.confirm) are
 * answered "unavailable" (75) without a try; the rest still run */
void	   control_disk_low(control_t *, int on);
/* control_on_write - fn(arg, op) after each request that succeeded, in the
 * same loop turn (op as in docs/control.md, e.g. "issue.cancel") */
void	   control_on_write(control_t *, void (*fn)(void *arg, const char *op), void *arg);
void	   control_close(control_t *);

#endif
