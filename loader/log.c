/* Messages and libbpf's output (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

static const char *cur_cmd = "";
static bool verbose;

static void vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level == LOG_DEBUG && !verbose)
		return;
	switch (level) {
	case LOG_ERR:
	case LOG_INFO:
		fprintf(stderr, "rampart%s%s: ", *cur_cmd ? " " : "", cur_cmd);
		break;
	case LOG_WARN:
		fputs("warning: ", stderr);
		break;
	case LOG_NOTE:
		fputs("note: ", stderr);
		break;
	case LOG_DEBUG:
		fprintf(stderr, "rampart%s%s: debug: ", *cur_cmd ? " " : "", cur_cmd);
		break;
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(level, fmt, ap);
	va_end(ap);
}

int log_err_r(int err, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s: %s", msg, strerror(err < 0 ? -err : err));
	return err;
}

/* libbpf's messages already start with "libbpf: " and end with a newline */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_init(const char *cmd, bool want_verbose)
{
	const char *env = getenv("RAMPART_DEBUG");
	cur_cmd = cmd ? cmd : "";
	verbose = want_verbose || (env && *env && strcmp(env, "0"));
	libbpf_set_print(libbpf_print);
}

const char *log_cmd(void)
{
	return cur_cmd;
}

bool log_verbose(void)
{
	return verbose;
}

int exit_code(int err)
{
	if (err == 0)
		return EXIT_OK;
	if (err == -RP_EPOLICY)
		return EXIT_POLICY;
	if (err == -RP_EUSAGE)
		return EXIT_USAGE;
	return EXIT_SYSTEM;
}
