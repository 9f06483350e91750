/*
 * cli - what the commands of `tiedote` share: the configuration, the
 * --json switch, exit codes (sysexits.h) and a few helpers.  tiedote.c
 * holds main() and the producer, subscriber and issue commands;
 * cli_notice.c the project, reminder and announce commands.
 */
#ifndef TIEDOTE_CLI_H
#define TIEDOTE_CLI_H

#include <stdio.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "store.h"

#define EX_OK		0
#define EX_USAGE	64
#define EX_DATAERR	65
#define EX_NOINPUT	66
#define EX_UNAVAILABLE	69
#define EX_SOFTWARE	70
#define EX_TEMPFAIL	75
#define EX_CONFIG	78

extern conf_t cli_conf;
extern int cli_json;

void	cli_usage(FILE *);
/* cli_read_all - a whole file ("-" is stdin) into out; 0 or -1, said */
int	cli_read_all(const char *path, buf_t *out);
/* cli_open_store - 0, or -1 with the reason on stderr */
int	cli_open_store(store_t **);
void	cli_print_json(json_t *);

int	cmd_project(int argc, char **argv);
int	cmd_reminder(int argc, char **argv);
int	cmd_announce(int argc, char **argv);

#endif
