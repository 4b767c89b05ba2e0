/*
 * conf_fuzz.c - libFuzzer harness for the racoon2.conf parser.
 *
 * Parses the input from memory with includes, environment variables
 * and file checks disabled (CONF_LOAD_NO_INCLUDE | NO_ENV | NO_FILECHECK)
 * so that a run touches no file.  When the input is valid it is also
 * dumped and re-parsed, and the two dumps must be identical (the
 * dump -> parse -> dump fixed point); a difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump_to_mem(const struct conf *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	conf_dump(f, c);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned fl =
	    CONF_LOAD_NO_INCLUDE | CONF_LOAD_NO_ENV | CONF_LOAD_NO_FILECHECK;
	struct conf_diag d;
	struct conf *c = NULL, *c2 = NULL;
	char *d1, *d2;
	size_t l1 = 0, l2 = 0;

	conf_diag_init(&d);
	if (conf_load_buffer("fuzz.conf", data, size, fl, &c, &d) != 0) {
		conf_diag_free(&d);
		return 0;
	}
	conf_diag_free(&d);
	d1 = dump_to_mem(c, &l1);
	conf_free(c);
	if (!d1)
		return 0;
	conf_diag_init(&d);
	if (conf_load_buffer("dump.conf", d1, l1, fl, &c2, &d) != 0) {
		fprintf(stderr, "dump of a valid config does not parse:\n%s\n",
			d1);
		conf_diag_print(stderr, &d);
		abort();
	}
	conf_diag_free(&d);
	d2 = dump_to_mem(c2, &l2);
	conf_free(c2);
	if (!d2 || l1 != l2 || memcmp(d1, d2, l1) != 0) {
		fprintf(stderr, "dump is not a fixed point:\n%s\n---\n%s\n", d1,
			d2 ? d2 : "(null)");
		abort();
	}
	free(d1);
	free(d2);
	return 0;
}
