/*
 * mangen - the generated parts of the manual pages, from the program's
 * own tables, so that the pages list exactly the keys and commands there
 * are (make puts them in place of the line ".\" @GENERATED@" of
 * man/NAME.in; not installed).
 *
 *   mangen conf   the keys of tiedote.conf(5), from conf.c's table
 *   mangen cli    the commands of tiedote(1), from cli.c's dispatch table
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "conf.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "conf") == 0)
		conf_print_mdoc(stdout);
	else if (argc == 2 && strcmp(argv[1], "cli") == 0)
		cli_print_mdoc(stdout);
	else {
		fputs("usage: mangen conf|cli\n", stderr);
		return EX_USAGE;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? EX_OK : EX_IOERR;
}
