#include <stdlib.h>
#include <limits.h>
#include <errno.h>
/* Approved applications vs. the files now (see apps.h). */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "apps.h"
#include "json.h"
#include "pins.h"
#include "sha256.h"

uint32_t apps_kdev(uint64_t st_dev)
{
	return (uint32_t)((major(st_dev) << 20) | minor(st_dev));
}

uint64_t apps_name_hash(const char *name)
{
	size_t len = strlen(name);
	if (len > RP_NAME_MAX)
		len = RP_NAME_MAX;
	uint64_t h = len;
	for (size_t off = 0; off < len; off += 8) {
		uint64_t w = 0;
		memcpy(&w, name + off, len - off < 8 ? len - off : 8);
		h = rp_name_mix(h, w);
	}
	return h;
}

int apps_key(const char *path, struct rp_app_key *key)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	memset(key, 0, sizeof(*key));
	if (!realpath(path, real))
		return -errno;
	char *slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", slash == real ? 1 : (int)(slash - real), real);
	if (stat(dir, &st))
		return -errno;
	key->dir_ino = (uint64_t)st.st_ino;
	if (stat(real, &st)) /* the file's file system, as the kernel's exe_file has it */
		return -errno;
	key->dev = apps_kdev(st.st_dev);
	key->name_hash = apps_name_hash(slash + 1);
	return 0;
}

int apps_identify(const char *path, struct rp_app_info *info, struct rp_app_key *key, struct rp_app_stamp *stamp)
{
	struct stat st;
	memset(info, 0, sizeof(*info));
	memset(key, 0, sizeof(*key));
	if (stamp)
		memset(stamp, 0, sizeof(*stamp));
	snprintf(info->path, sizeof(info->path), "%s", path);
	int e = sha256_file(path, info->sha256, &st);
	if (e)
		return e;
	if ((e = apps_key(path, key)))
		return e;
	info->present = 1;
	info->ino = (uint64_t)st.st_ino;
	info->dev = key->dev;
	info->size = (uint64_t)st.st_size;
	if (stamp)
		apps_stamp_of(&st, stamp);
	return 0;
}

void apps_stamp_of(const struct stat *st, struct rp_app_stamp *stamp)
{
	stamp->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	stamp->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	stamp->state = RP_APPS_APPROVED;
}

static const char *app_state(const struct rp_app_info *a, uint8_t now[32], bool *have_now)
{
	struct stat st;
	*have_now = false;
	if (!a->present)
		return "absent";
	if (sha256_file(a->path, now, &st))
		return "missing";
	*have_now = true;
	if ((uint64_t)st.st_ino != a->ino || apps_kdev(st.st_dev) != a->dev)
		return "replaced";
	return memcmp(now, a->sha256, 32) ? "modified" : "ok";
}

static const char *state_text(const char *state)
{
	if (!strcmp(state, "absent"))
		return "did not exist at apply: its rules match nothing";
	if (!strcmp(state, "missing"))
		return "REMOVED since apply: its rules match nothing";
	if (!strcmp(state, "replaced"))
		return "REPLACED since apply (a new file at the path, as upgrades install): its rules follow the "
		       "path and STILL MATCH it; check it, then `rampart apply` to approve it";
	if (!strcmp(state, "modified"))
		return "MODIFIED in place since apply (same inode): its rules STILL MATCH it; "
		       "check it, then `rampart apply` to approve it";
	return "unchanged";
}

int apps_report(const struct pin_dir *pd, FILE *out, enum apps_report style)
{
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_APP_INFO));
	if (fd < 0) {
		if (style == APPS_REPORT_JSON)
			fprintf(out, "[]");
		return -1;
	}
	struct bpf_map_info mi = {};
	__u32 ml = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &ml) || mi.value_size != sizeof(struct rp_app_info)) {
		close(fd);
		if (style == APPS_REPORT_JSON)
			fprintf(out, "[]");
		return -1;
	}
	int changed = 0, shown = 0;
	if (style == APPS_REPORT_JSON)
		fputc('[', out);
	for (uint32_t id = 1; id < mi.max_entries; id++) {
		struct rp_app_info a;
		uint8_t now[32];
		bool have_now;
		char h1[65], h2[65] = "";
		if (bpf_map_lookup_elem(fd, &id, &a) || !a.path[0])
			continue;
		a.path[sizeof(a.path) - 1] = 0;
		const char *state = app_state(&a, now, &have_now);
		bool bad = strcmp(state, "ok") != 0;
		changed += bad && strcmp(state, "absent");
		sha256_hex(a.sha256, h1);
		if (have_now)
			sha256_hex(now, h2);
		if (style == APPS_REPORT_JSON) {
			fprintf(out, "%s{\"app_id\": %u, \"path\": ", shown ? ", " : "", id);
			json_str(out, a.path);
			fprintf(out, ", \"state\": \"%s\", \"sha256\": %s%s%s, \"sha256_now\": %s%s%s}", state,
				a.present ? "\"" : "", a.present ? h1 : "null", a.present ? "\"" : "",
				have_now ? "\"" : "", have_now ? h2 : "null", have_now ? "\"" : "");
		} else if (style == APPS_REPORT_TEXT) {
			if (!shown)
				fprintf(out, "applications (approved at apply):\n");
			fprintf(out, "  %-40s %s", a.path, state_text(state));
			if (a.present)
				fprintf(out, "; approved sha256 %.16s", h1);
			if (have_now && bad)
				fprintf(out, ", now %.16s", h2);
			fputc('\n', out);
		} else if (bad) {
			fprintf(out, "warning: application %s %s", a.path, state_text(state));
			if (have_now)
				fprintf(out, " (approved sha256 %s, now %s)", h1, h2);
			fputc('\n', out);
		}
		shown++;
	}
	if (style == APPS_REPORT_JSON)
		fputc(']', out);
	close(fd);
	return changed;
}
