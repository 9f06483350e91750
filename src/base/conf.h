/*
 * conf - tiedote.conf: one INI file, every key with a default.
 *
 * conf_init() fills the embedded defaults, which run everything on one
 * machine with no file at all.  conf_load() reads a file over them: an
 * unknown section or key, or a bad value, is an error naming the file and
 * line (a typo must not silently fall back to a default).  conf_set()
 * applies one "section.key=value" override, as command-line flags do.
 * conf_setup() is the whole start-up sequence of both programs: the file,
 * then the shortcut flags, then the -o overrides in their order.
 * conf_print() writes every key with its value and documentation: the
 * reference that tiedote.conf.example is checked against;
 * conf_print_mdoc() the same table as the KEYS of tiedote.conf(5).
 * Strings in conf_t are owned by it; conf_free() releases them.
 */
#ifndef TIEDOTE_CONF_H
#define TIEDOTE_CONF_H

#include <stdio.h>

#include "buf.h"

#define CONF_DEFAULT_PATH "/etc/tiedote/tiedote.conf"

typedef struct conf {
	/* [store] */
	char	*db_path;
	long	 busy_timeout_ms;
	long	 db_max_mb;
	long	 db_reserve_mb;
	/* [intake] */
	char	*endpoint;
	long	 max_event_size;
	long	 batch_max;
	char	*intake_key_file;	/* "" = no CURVE */
	char	*producer_keys;
	long	 allow_plain;
	/* [control] */
	char	*control_endpoint;	/* "" = beside the database (control.h) */
	/* [client] */
	long	 client_timeout_ms;
	long	 client_total_ms;
	char	*client_key_file;
	char	*client_server_key_file;
	/* [log] */
	char	*log_level;
	/* [message] */
	char	*templates;
	char	*time_zone;
	char	*from_name;
	char	*from_address;
	char	*reply_to;
	char	*base_url;
	char	*list_id;
	char	*unsubscribe_address;
	/* [bulletin] */
	char	*bulletin_first;
	long	 bulletin_interval_days;
	long	 deadline_days;
	long	 event_days;
	long	 send_empty;
	long	 outbox_keep_days;
	long	 bulletin_calendar;
	long	 approval;
	long	 draft_lead_hours;
	char	*editors;
	/* [reminders] */
	char	*remind_days;
	char	*remind_time;
	/* [announcements] */
	long	 announce_max_late_hours;
	/* [smtp] */
	char	*smtp_url;
	long	 smtp_connections;
	long	 smtp_max_per_session;
	long	 smtp_rate_per_sec;
	long	 smtp_rate_per_hour;
	char	*smtp_tls;
	char	*smtp_auth_file;
	char	*smtp_ca_file;
	long	 smtp_timeout_ms;
	long	 smtp_dot_timeout_ms;
	char	*smtp_helo;
	char	*envelope_from;
	long	 verp;
	long	 retry_base_s;
	long	 retry_max_s;
	long	 max_age_hours;
	/* [metrics] */
	char	*metrics_listen;	/* "" = off */
	/* [inbound] */
	char	*lmtp_listen;
	long	 inbound_max_kb;
	long	 inbound_keep_days;
	long	 inbound_soft_limit;
	long	 inbound_soft_days;
	char	*mailbox;
	char	*mailbox_auth_file;
	char	*mailbox_done;
	long	 mailbox_delete;
	char	*mailbox_ca_file;
	char	*mailbox_tls_sha256;
	long	 poll_s;
	/* [dkim] */
	char	*dkim_domain;		/* "" = no signing */
	char	*dkim_selector;
	char	*dkim_key_file;
	char	*dkim_ed25519_selector;
	char	*dkim_ed25519_key_file;
	/* [web] */
	char	*web_listen;		/* "" = no web front */
	char	*web_trusted_proxies;
	long	 web_max_connections;
	long	 web_per_ip_connections;
	long	 web_timeout_s;
	long	 web_posts_per_ip_hour;
	long	 web_confirm_interval;
	long	 web_confirmations_keep_days;
	long	 web_consent_ip_hash;	/* the consent log's IP: keyed hash */
} conf_t;

void	conf_init(conf_t *);
void	conf_free(conf_t *);
/* conf_load - path NULL: the default path if it exists, else defaults */
int	conf_load(conf_t *, const char *path, buf_t *err);
int	conf_set(conf_t *, const char *section, const char *key,
	    const char *value, buf_t *err);
/* conf_override - "section.key=value", the -o flag of both programs */
int	conf_override(conf_t *, const char *, buf_t *err);
/* conf_setup - conf_load(path), then the shortcuts that are not NULL (db:
 * store.path, endpoint: intake.endpoint, log_level: log.level), then the n
 * "section.key=value" overrides in order, so a later one wins; 0, or -1
 * with the first error in err.  The conf_t must have been conf_init()ed;
 * on -1 it holds whatever was applied before the error. */
int	conf_setup(conf_t *, const char *path, const char *db,
	    const char *endpoint, const char *log_level,
	    char *const *overrides, size_t n, buf_t *err);
void	conf_print(const conf_t *, FILE *);
/* conf_reload - SIGHUP: the keys that can change at run time (the table
 * marks them) copied from fresh into c, and named, comma-separated, in
 * changed; the other keys whose values differ named in restart and left
 * as they are.  buf_notef() semantics: a list that outgrows its buffer
 * is cut. */
void	conf_reload(conf_t *c, const conf_t *fresh, buf_t *changed, buf_t *restart);
/* conf_keep - every key of section in fresh set back to its value in c: a
 * reload keeps what it refuses (the DKIM keys when one is bad) */
void	conf_keep(conf_t *fresh, const conf_t *c, const char *section);
/* conf_print_mdoc - every key with its default and meaning as mdoc(7)
 * (subsections and tag lists), for tiedote.conf(5) */
void	conf_print_mdoc(FILE *);

#endif
