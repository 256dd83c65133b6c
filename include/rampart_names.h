/* The names of the BPF maps, defined once for both sides (as xdp-tools'
 * MAP_NAME_* macros).  The BPF side declares each map with its macro as the
 * variable name (`} RP_MAP_CONFIG SEC(".maps");`), so the map is called that
 * in the object, in the skeleton (skel->maps.rp_config) and in bpffs
 * (DIR/maps/rp_config); user space spells a pinned map RP_NAME(RP_MAP_...).
 * Renaming a map here renames it everywhere; a name written anywhere else
 * breaks the build, not a running system.
 *
 * Programs have no names of their own outside the objects: user space
 * reaches them through the skeletons only (skel->progs.rampart_xdp). */
#ifndef RAMPART_NAMES_H
#define RAMPART_NAMES_H

#define RP_NAME_STR_(x) #x
/* The name of a map as a string: RP_NAME(RP_MAP_CONFIG) is "rp_config". */
#define RP_NAME(x)	RP_NAME_STR_(x)

/* ---------- packet datapath (bpf/rampart.bpf.c), state ---------- */
#define RP_MAP_CONFIG	      rp_config	    /* every object: mode, timeouts (bpf/config.h) */
#define RP_MAP_ACTIVE	      rp_active	    /* every object: the generation in force (bpf/config.h) */
#define RP_MAP_CONNTRACK      rp_conntrack  /* tracked flows that earned their place (bpf/conntrack.h) */
#define RP_MAP_CT_NEW	      rp_ct_new	    /* tracked flows being set up (LRU) */
#define RP_MAP_SWEEPER	      rp_sweeper    /* conntrack sweeper timer */
#define RP_MAP_FLOW_CACHE     rp_flow_cache /* per-CPU established-flow cache (bpf/flowcache.h) */
#define RP_MAP_CT_GEN	      rp_ct_gen	    /* the flow cache's generation counters */
#define RP_MAP_COUNTERS	      rp_counters   /* global counters (bpf/log.h) */
#define RP_MAP_LOG	      rp_log	    /* log ring buffer */
#define RP_MAP_FRAGS	      rp_frags	    /* fragments of allowed first fragments */
#define RP_MAP_SCRATCH	      rp_scratch    /* per-CPU scratch space */
/* ---------- the FTP helper (bpf/ftp.h), state ---------- */
#define RP_MAP_FTP_EXPECT     rp_ftp_expect  /* expected data connections (shared with the socket hooks) */
#define RP_MAP_FTP_LIVE	      rp_ftp_live    /* how many expectations there are */
#define RP_MAP_FTP_CTL	      rp_ftp_ctl     /* control connections: parser state, their expectations */
#define RP_MAP_FTP_RELATED    rp_ftp_related /* data connection -> its control connection */
#define RP_MAP_FTP_SCRATCH    rp_ftp_scratch /* per-CPU: the payload read */
/* ---------- packet datapath, policy ---------- */
#define RP_MAP_RULE_STATS     rp_rule_stats    /* per-rule counters */
#define RP_MAP_LOG_BUCKET     rp_log_bucket    /* per-rule log rate limit */
#define RP_MAP_REJECT_BUCKET  rp_reject_bucket /* reject answers' rate limit */
#define RP_MAP_RULES	      rp_rules	       /* rule metadata for the read-only commands */
#define RP_MAP_POLICY_INFO    rp_policy_info   /* policy file, sha256, layout version */
#define RP_MAP_IFACES	      rp_ifaces	       /* ifindex -> the policy's interface id */
#define RP_MAP_IFSEL	      rp_ifsel	       /* the interfaces the policy covers (loader, daemon, status) */
/* ---------- classifier (bpf/classify.h, include/rampart_classifier.h) ---------- */
#define RP_MAP_CLS_CONFIG     cls_config  /* the tables' configuration */
#define RP_MAP_CLS_TAB	      cls_tab	  /* the tables: one array of 64-byte blocks */
#define RP_MAP_CLS_ACTIONS    cls_actions /* what a final class decides */
#define RP_MAP_CLS_SCRATCH    cls_scratch /* per-CPU working memory of the lookup (XDP, tc) */
/* ---------- socket identity (bpf/sockid.h, bpf/sock.bpf.c) ---------- */
#define RP_MAP_LISTENERS      rp_listeners	/* owners of listening sockets */
#define RP_MAP_LISTEN_UNOWNED rp_listen_unowned /* ports with sockets rp_listeners had no room for */
#define RP_MAP_SK_MARKS	      rp_sk_marks	/* judgements made at the socket */
#define RP_MAP_APPS	      rp_apps		/* executable identity -> app id */
#define RP_MAP_CGROUPS	      rp_cgroups	/* cgroup id -> the policy's cgroup value (a cache) */
#define RP_MAP_CGROUP_PATHS   rp_cgroup_paths	/* cgroup path -> the policy's cgroup value */
#define RP_MAP_CGROUP_INFO    rp_cgroup_info	/* the named cgroups and their ids at apply */
#define RP_MAP_APP_INFO	      rp_app_info	/* what was approved at apply */
#define RP_MAP_SOCK_CONFIG    rp_sock_config	/* socket hooks' configuration */
/* ---------- learning mode (bpf/ask.h, include/rampart_ask.h) ---------- */
#define RP_MAP_ASK	      rp_ask	   /* open questions (and answers being applied) */
#define RP_MAP_ASK_HELD	      rp_ask_held  /* flows held by a question */
#define RP_MAP_ASK_RING	      rp_ask_ring  /* questions for the agent */
#define RP_MAP_ASK_STATE      rp_ask_state /* question ids, rate limit */
#define RP_MAP_ASK_AGENT      rp_ask_agent /* who answers */
#define RP_MAP_SK_ASK	      rp_sk_ask	   /* sockets held by a question */
#define RP_MAP_APP_STAMP      rp_app_stamp /* approved files' change times (option app-changed) */
/* ---------- boot protection (bpf/boot.bpf.c) ---------- */
#define RP_MAP_BOOT_TIMER     rp_boot_timer    /* opens at the boot deadline */
#define RP_MAP_BOOT_SK_DROPS  rp_boot_sk_drops /* what the SK_LOOKUP program dropped */
/* ---------- forwarding until the flip (bpf/config.h): one per attached program, pinned only as DIR/fwd/ID ---------- */
#define RP_MAP_FWD_XDP	      rp_fwd_xdp
#define RP_MAP_FWD_TC_IN      rp_fwd_tc_in
#define RP_MAP_FWD_TC_IN_L3   rp_fwd_tc_in_l3
#define RP_MAP_FWD_TC_OUT     rp_fwd_tc_out
#define RP_MAP_FWD_TC_OUT_L3  rp_fwd_tc_out_l3
#define RP_MAP_FWD_CREATE     rp_fwd_create
#define RP_MAP_FWD_RECVMSG4   rp_fwd_recvmsg4
#define RP_MAP_FWD_RECVMSG6   rp_fwd_recvmsg6
#define RP_MAP_FWD_CONNECT4   rp_fwd_connect4
#define RP_MAP_FWD_CONNECT6   rp_fwd_connect6
#define RP_MAP_FWD_SENDMSG4   rp_fwd_sendmsg4
#define RP_MAP_FWD_SENDMSG6   rp_fwd_sendmsg6
#define RP_MAP_FWD_BIND4      rp_fwd_bind4
#define RP_MAP_FWD_BIND6      rp_fwd_bind6
#define RP_MAP_FWD_RELEASE    rp_fwd_release
#define RP_MAP_FWD_SOCKOPS    rp_fwd_sockops
#define RP_MAP_FWD_SK_LOOKUP  rp_fwd_sk_lookup

#endif
