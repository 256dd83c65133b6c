#include <stdbool.h>
#include "json.h"

/* Length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
	int n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p <= 0xdf ? 2 : 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* The characters JSON escapes with a backslash and a letter (RFC 8259,
 * section 7); the other control characters are written \u00XX. */
static const char *const json_escape[0x80] = {
	['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\t'] = "\\t", ['\r'] = "\\r",
};

void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80 && json_escape[*p]) {
			fputs(json_escape[*p], f);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p);
		} else if (*p < 0x80) {
			fputc(*p, f);
		} else {
			/* keep the output valid JSON whatever bytes a policy holds */
			int n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
			} else {
				fwrite(p, 1, n, f);
				p += n - 1;
			}
		}
	}
	fputc('"', f);
}

void json_words(FILE *f, const char *s, size_t n)
{
	char w[256];
	size_t i = 0;
	bool first = true;
	fputc('[', f);
	while (i < n && s[i]) {
		size_t len = 0;
		while (i < n && s[i] == ' ')
			i++;
		while (i < n && s[i] && s[i] != ' ' && len < sizeof(w) - 1)
			w[len++] = s[i++];
		if (!len)
			break;
		w[len] = 0;
		if (!first)
			fputs(", ", f);
		json_str(f, w);
		first = false;
	}
	fputc(']', f);
}
