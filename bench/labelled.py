"""Labelled log corpora of twelve systems, generated: every line comes with its true template (by construction).

Written for this repo from message formats as the systems document or commonly print them (facts, not any
labelled data set's text; Loghub's samples are kept aside to check results). Each system's lines are what
the miner sees after the syslog header: "TAG message", or the bare message for systems that log to files.
Built to be hard rather than flattering:

- variables that look like words (user names, host names, states, queue names, Java classes, pod names),
  in the first positions of a message too;
- variables of varying token counts (free-text reasons, quoted commands, lists), so one template has
  lines of several lengths;
- numbers with units (12ms, 1.5s, 640KB), paths of varying depth, URLs with query strings, key=value runs,
  IDs in several forms (hex, UUID, block ids, container ids), dates and times in several formats;
- templates of one system that differ in a single constant word ("opened" / "closed"), and templates
  that share long prefixes.

Frequencies are Zipf-like within a system. Deterministic for a seed.

    python bench/labelled.py [--system sshd] [--lines 20] [--seed 1]   # "template<TAB>line" lines
"""

# ruff: noqa: E501  (a template is one log line, kept whole to be read as the system writes it)
from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable

_NAMES = ["root", "admin", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter", "ubuntu", "deploy", "backup", "nagios", "zabbix", "postgres", "oracle", "guest", "support", "netops", "jenkins"]  # fmt: skip
_WORDS = ["timeout", "refused", "reset", "unreachable", "denied", "expired", "invalid", "missing", "corrupt", "busy", "stale", "blocked", "overloaded", "unavailable", "closed", "aborted", "rejected", "throttled"]  # fmt: skip
_HOSTWORDS = ["web", "db", "cache", "mail", "proxy", "api", "auth", "queue", "store", "edge", "core", "dns", "ntp", "backup", "build"]  # fmt: skip
_DIRS = ["var", "log", "lib", "opt", "srv", "data", "home", "tmp", "etc", "usr", "local", "share", "cache", "run", "spool", "www", "app", "conf"]  # fmt: skip
_EXTS = [".log", ".conf", ".json", ".db", ".tmp", ".gz", ".sock", ".pid", ".csv", ".xml"]
_JAVA_PKGS = ["org.apache.hadoop.hdfs", "org.apache.hadoop.yarn", "com.example.billing", "io.netty.channel"]
_JAVA_CLASSES = ["DataNode", "NameNode", "FSNamesystem", "BlockManager", "Server", "Client", "Scheduler", "Handler", "Worker"]  # fmt: skip
_QUEUES = ["default", "ingest", "batch", "realtime", "reports", "etl"]
_STATES = ["up", "down"]
_COUNTRIES = ["Reserved", "France", "Germany", "Netherlands", "United_States", "Japan", "Brazil"]
_METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD"]
_SQL_TABLES = ["users", "orders", "items", "sessions", "payments", "audit_log", "events", "accounts"]
_NAMESPACES = ["default", "kube-system", "monitoring", "payments", "web", "ingress-nginx"]
_APPS = ["web", "api", "worker", "redis", "nginx", "fluentd", "coredns", "metrics-server"]
_IMAGES = ["nginx:1.25", "redis:7.2", "postgres:16", "busybox:latest", "python:3.12-slim", "envoyproxy/envoy:v1.29"]
_WIN_PROVIDERS = ["Microsoft-Windows-Security-Auditing", "Service_Control_Manager", "Microsoft-Windows-Kernel-Power"]


def _hex(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _ip(r: random.Random) -> str:
    return f"{r.choice((10, 172, 192, r.randint(1, 223)))}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _host(r: random.Random) -> str:
    base = f"{r.choice(_HOSTWORDS)}{r.choice(('', '-', ''))}{r.choice(('', str(r.randint(1, 40))))}"
    return base + r.choice(("", "", ".example.net", ".corp.example.com"))


def _path(r: random.Random) -> str:
    parts = r.sample(_DIRS, r.randint(1, 5))
    return "/" + "/".join(parts) + "/" + r.choice(_DIRS) + str(r.randint(0, 99)) + r.choice(_EXTS)


def _reason(r: random.Random) -> str:
    """Free text of one to five words: a variable of varying token count."""
    return " ".join(r.choice(_WORDS) for _ in range(r.randint(1, 5)))


def _dur(r: random.Random) -> str:
    return r.choice((f"{r.randint(1, 999)}ms", f"{r.uniform(0, 60):.2f}s", f"{r.randint(1, 90)}m{r.randint(0, 59)}s"))


def _size(r: random.Random) -> str:
    return f"{r.randint(1, 1023)}{r.choice(('B', 'KB', 'MB', 'GB', 'KiB', 'MiB'))}"


def _url(r: random.Random) -> str:
    path = "/" + "/".join(r.choice(("api", "v1", "v2", "users", "orders", str(r.randint(1, 9999)), "static", "img"))
                          for _ in range(r.randint(1, 4)))  # fmt: skip
    return path + r.choice(("", f"?id={r.randint(1, 10**5)}", f"?q={r.choice(_WORDS)}&page={r.randint(1, 9)}"))


def _ts(r: random.Random) -> str:
    return f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d},{r.randint(0, 999):03d}"


def _pod(r: random.Random) -> str:
    return f"{r.choice(_APPS)}-{_hex(r, r.choice((9, 10)))}-{''.join(r.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"


def _cmd(r: random.Random) -> str:
    return " ".join([r.choice(("/usr/bin/rsync", "/bin/sh", "/usr/local/bin/backup.sh", "python3", "run-parts"))]
                    + [r.choice(("-a", "-c", "--quiet", _path(r), "/etc/cron.daily", "-v")) for _ in range(r.randint(0, 3))])  # fmt: skip


_SLOTS: dict[str, Callable[[random.Random], str]] = {
    "ip": _ip,
    "port": lambda r: str(r.randint(1, 65535)),
    "int": lambda r: str(r.randint(0, 10 ** r.randint(1, 7))),
    "pid": lambda r: str(r.randint(100, 4_000_000)),
    "float": lambda r: f"{r.uniform(0, 1000):.{r.randint(1, 4)}f}",
    "user": lambda r: r.choice(_NAMES),
    "host": _host,
    "path": _path,
    "reason": _reason,
    "word": lambda r: r.choice(_WORDS),
    "dur": _dur,
    "size": _size,
    "url": _url,
    "ts": _ts,
    "time": lambda r: (
        f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999999):06d}"
    ),
    "hex8": lambda r: _hex(r, 8),
    "hex": lambda r: "0x" + _hex(r, r.choice((4, 8, 16))),
    "uuid": lambda r: f"{_hex(r, 8)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 12)}",
    "mac": lambda r: ":".join(_hex(r, 2) for _ in range(6)),
    "cmac": lambda r: ".".join(_hex(r, 4) for _ in range(3)),
    "blk": lambda r: f"blk_{r.choice(('-', ''))}{r.randint(10**17, 10**19)}",
    "jclass": lambda r: f"{r.choice(_JAVA_PKGS)}.{r.choice(_JAVA_CLASSES)}",
    "queue": lambda r: r.choice(_QUEUES),
    "state": lambda r: r.choice(_STATES),
    "cif": lambda r: (
        f"{r.choice(('GigabitEthernet', 'TenGigabitEthernet', 'FastEthernet'))}{r.randint(0, 2)}/{r.randint(0, 1)}/{r.randint(1, 48)}"
    ),
    "jif": lambda r: (
        f"{r.choice(('ge', 'xe', 'et'))}-{r.randint(0, 1)}/{r.randint(0, 1)}/{r.randint(0, 47)}{r.choice(('', '.0', '.100'))}"
    ),
    "vlan": lambda r: str(r.randint(1, 4094)),
    "asn": lambda r: str(r.choice((64512, 65001, 3356, 174, r.randint(1, 65000)))),
    "country": lambda r: r.choice(_COUNTRIES),
    "method": lambda r: r.choice(_METHODS),
    "status": lambda r: r.choice(("200", "201", "204", "301", "404", "500", "503")),
    "qid": lambda r: "".join(r.choice("0123456789ABCDEF") for _ in range(r.choice((10, 11, 12)))),
    "email": lambda r: f"{r.choice(_NAMES)}@{r.choice(('example.com', 'example.org', 'mail.example.net'))}",
    "table": lambda r: r.choice(_SQL_TABLES),
    "ns": lambda r: r.choice(_NAMESPACES),
    "pod": _pod,
    "image": lambda r: r.choice(_IMAGES),
    "cid": lambda r: _hex(r, 64),
    "sid": lambda r: f"S-1-5-21-{r.randint(10**8, 10**9)}-{r.randint(10**8, 10**9)}-{r.randint(1000, 9999)}",
    "domain": lambda r: r.choice(("CORP", "EXAMPLE", "WORKGROUP", "NT AUTHORITY")),
    "provider": lambda r: r.choice(_WIN_PROVIDERS),
    "service": lambda r: r.choice(
        ("Windows Update", "Print Spooler", "Background Intelligent Transfer Service", "WinRM")
    ),
    "cmd": _cmd,
    "instance": lambda r: f"instance-{r.randint(0, 4000):08x}",
    "req": lambda r: f"req-{_hex(r, 8)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 12)}",
}

# System -> templates. A slot is {kind}; each slot in a line is drawn on its own.
SYSTEMS: dict[str, tuple[str, ...]] = {
    "sshd": (
        "sshd Accepted password for {user} from {ip} port {port} ssh2",
        "sshd Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{hex8}{hex8}",
        "sshd Failed password for {user} from {ip} port {port} ssh2",
        "sshd Failed password for invalid user {user} from {ip} port {port} ssh2",
        "sshd Invalid user {user} from {ip} port {port}",
        "sshd pam_unix(sshd:session): session opened for user {user} by (uid={int})",
        "sshd pam_unix(sshd:session): session closed for user {user}",
        "sshd Received disconnect from {ip} port {port}:11: disconnected by user",
        "sshd Disconnected from user {user} {ip} port {port}",
        "sshd Connection closed by authenticating user {user} {ip} port {port} [preauth]",
        "sshd error: kex_exchange_identification: Connection closed by remote host",
        "sshd Did not receive identification string from {ip} port {port}",
        "sshd reverse mapping checking getaddrinfo for {host} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!",
        "sshd PAM {int} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} user={user}",
    ),
    "linux": (
        "kernel [{float}] {word}: Link is Up - {int}Mbps/Full - flow control off",
        "kernel [{float}] {word}: Link is Down",
        "kernel [{float}] Out of memory: Killed process {pid} ({user}) total-vm:{int}kB, anon-rss:{int}kB, file-rss:{int}kB",
        "kernel [{float}] EXT4-fs ({word}): mounted filesystem with ordered data mode. Quota mode: none.",
        "kernel [{float}] usb {int}-{int}: new high-speed USB device number {int} using xhci_hcd",
        "kernel [{float}] [UFW BLOCK] IN={word} OUT= MAC={mac} SRC={ip} DST={ip} LEN={int} TTL={int} ID={int} PROTO=TCP SPT={port} DPT={port}",
        "CRON ({user}) CMD ({cmd})",
        "CRON pam_unix(cron:session): session opened for user {user}(uid={int}) by (uid=0)",
        "systemd Started {word} {word} service.",
        "systemd {word}.service: Main process exited, code=exited, status={int}/FAILURE",
        "systemd {word}.service: Failed with result 'exit-code'.",
        "systemd Reached target {word} Services.",
        "sudo {user} : TTY=pts/{int} ; PWD={path} ; USER=root ; COMMAND={cmd}",
        "su pam_unix(su:session): session opened for user {user} by {user}(uid={int})",
    ),
    "hdfs": (
        "{ts} INFO {jclass}: Receiving block {blk} src: /{ip}:{port} dest: /{ip}:{port}",
        "{ts} INFO {jclass}: PacketResponder {int} for block {blk} terminating",
        "{ts} INFO {jclass}: Received block {blk} of size {int} from /{ip}",
        "{ts} INFO {jclass}: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:{port} is added to {blk} size {int}",
        "{ts} INFO {jclass}: BLOCK* NameSystem.allocateBlock: {path} {blk}",
        "{ts} WARN {jclass}: Slow BlockReceiver write packet to mirror took {int}ms (threshold=300ms)",
        "{ts} INFO {jclass}: Deleting block {blk} file {path}",
        "{ts} ERROR {jclass}: {ip}:{port}:DataXceiver error processing WRITE_BLOCK operation src: /{ip}:{port} dst: /{ip}:{port}",
        "{ts} INFO {jclass}: Verification succeeded for {blk}",
        "{ts} INFO {jclass}: Starting thread to transfer {blk} to {ip}:{port}",
        "{ts} INFO {jclass}: Container container_{int}_{int}_01_{int} transitioned from {word} to RUNNING",
        "{ts} INFO {jclass}: Assigned container container_{int}_{int}_01_{int} of capacity <memory:{int}, vCores:{int}> on host {host}:{port}",
        "{ts} WARN {jclass}: Application application_{int}_{int} in queue {queue} failed {int} times due to {reason}",
    ),
    "openstack": (
        'nova-api {ip} "{method} {url} HTTP/1.1" status: {status} len: {int} time: {float}',
        "nova-compute [{req} {hex8}{hex8} {hex8}{hex8} - - -] [instance: {uuid}] Took {float} seconds to spawn the instance on the hypervisor.",
        "nova-compute [{req} - - - - -] [instance: {uuid}] VM {word} (Lifecycle Event)",
        "nova-compute [{req} {hex8}{hex8} {hex8}{hex8} - - -] [instance: {uuid}] Terminating instance",
        "nova-compute [{req} - - - - -] Final resource view: name={host} phys_ram={int}MB used_ram={int}MB phys_disk={int}GB used_disk={int}GB total_vcpus={int} used_vcpus={int}",
        "nova-scheduler [{req} - - - - -] Filter {word}Filter returned {int} hosts",
        'neutron-server [{req} - - - - -] {ip} "{method} {url} HTTP/1.1" status: {status} len: {int} time: {float}',
        "httpd [client {ip}:{port}] AH01630: client denied by server configuration: {path}",
        "httpd [client {ip}:{port}] File does not exist: {path}",
        "httpd AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {ip}",
        'httpd {ip} - {user} [{int}/Mar/2026:{time} +0000] "{method} {url} HTTP/1.1" {status} {int} "-" "curl/8.{int}.0"',
        "httpd [mpm_event:notice] AH00489: Apache/2.4.{int} (Unix) configured -- resuming normal operations",
    ),
    "cisco_ios": (
        "LINK Interface {cif}, changed state to {state}",
        "LINEPROTO Line protocol on Interface {cif}, changed state to {state}",
        "BGP neighbor {ip} {state}",
        "BGP neighbor {ip} vpn vrf {word} {state} {reason}",
        "OSPF Process {int}, Nbr {ip} on {cif} from LOADING to FULL, Loading Done",
        "SYS Configured from console by {user} on vty{int} ({ip})",
        "SEC_LOGIN Login Success [user: {user}] [Source: {ip}] [localport: {port}] at {time} UTC Mon Mar {int} 2026",
        "SEC_LOGIN Login failed [user: {user}] [Source: {ip}] [localport: {port}] [Reason: {reason}] at {time} UTC Mon Mar {int} 2026",
        "SW_MATM Host {cmac} in vlan {vlan} is flapping between port {cif} and port {cif}",
        "DUAL Neighbor {ip} ({cif}) is {state}: {reason}",
        "SSH SSH2 Session request from {ip} (tty = {int}) using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Succeeded",
        "PORT_SECURITY Security violation occurred, caused by MAC address {cmac} on port {cif}.",
        "CDP Native VLAN mismatch discovered on {cif} ({vlan}), with {host} {cif} ({vlan}).",
    ),
    "junos": (
        "mgd UI_COMMIT: User '{user}' requested 'commit' operation (comment: {reason})",
        "mgd UI_LOGIN_EVENT: User '{user}' login, class 'j-super-user' [{pid}], ssh-connection '{ip} {port} {ip} 22', client-mode 'cli'",
        "mgd UI_CMDLINE_READ_LINE: User '{user}', command '{cmd}'",
        "rpd BGP_NEIGHBOR_STATE_CHANGED: BGP peer {ip} (External AS {asn}) changed state from OpenConfirm to Established (event RecvKeepAlive) (instance master)",
        "rpd RPD_OSPF_NBRDOWN: OSPF neighbor {ip} (realm ospf-v2 {jif} area 0.0.0.0) state changed from Full to Down due to {reason}",
        "mib2d SNMP_TRAP_LINK_DOWN: ifIndex {int}, ifAdminStatus up(1), ifOperStatus down(2), ifName {jif}",
        "mib2d SNMP_TRAP_LINK_UP: ifIndex {int}, ifAdminStatus up(1), ifOperStatus up(1), ifName {jif}",
        "sshd SSHD_LOGIN_FAILED: Login failed for user '{user}' from host '{ip}'",
        "RT_FLOW RT_FLOW_SESSION_CREATE: session created {ip}/{port}->{ip}/{port} 0x0 junos-{word} {ip}/{port}->{ip}/{port} 0x0 None None 6 {word}-policy trust untrust {int} N/A(N/A) {jif}",
        "RT_FLOW RT_FLOW_SESSION_CLOSE: session closed {reason}: {ip}/{port}->{ip}/{port} 0x0 junos-{word} {int}({int}) {int}({int}) {int} {word}-policy trust untrust",
        "chassisd CHASSISD_SNMP_TRAP7: SNMP trap generated: Fan/Blower Removed (jnxFruContentsIndex {int}, jnxFruL1Index {int})",
        "kernel KERN_ARP_ADDR_CHANGE: arp info overwritten for {ip} from {mac} to {mac}",
    ),
    "firewall": (
        'type="traffic" subtype="forward" level="notice" srcip={ip} srcport={port} srcintf="{word}" dstip={ip} dstport={port} dstintf="wan1" action="accept" policyid={int} service="HTTPS" duration={int} sentbyte={int} rcvdbyte={int} srccountry="{country}"',
        'type="traffic" subtype="forward" level="notice" srcip={ip} srcport={port} srcintf="{word}" dstip={ip} dstport={port} dstintf="wan1" action="deny" policyid={int} service="{word}" sentbyte=0 rcvdbyte=0 srccountry="{country}"',
        'type="utm" subtype="webfilter" level="warning" srcip={ip} dstip={ip} hostname="{host}" url="{url}" action="blocked" cat={int} catdesc="{reason}"',
        'type="event" subtype="vpn" level="information" action="tunnel-up" remip={ip} locip={ip} remport=500 locport=500 vpntunnel="{word}" user="{user}"',
        'type="event" subtype="system" level="information" logdesc="Admin login successful" user="{user}" ui="https({ip})" method="https" status="success"',
        'type="event" subtype="system" level="alert" logdesc="Admin login failed" user="{user}" ui="ssh({ip})" status="failed" reason="{reason}"',
        "filterlog {int},,,{int},{word},match,block,in,4,0x0,,{int},{int},0,none,6,tcp,{int},{ip},{ip},{port},{port},0,S,{int},,{int},,mss",
        "ASA Built inbound TCP connection {int} for outside:{ip}/{port} ({ip}/{port}) to inside:{ip}/{port} ({ip}/{port})",
        "ASA Teardown TCP connection {int} for outside:{ip}/{port} to inside:{ip}/{port} duration {time} bytes {int} {reason}",
        'ASA Deny tcp src outside:{ip}/{port} dst inside:{ip}/{port} by access-group "{word}" [{hex}, {hex}]',
        "ASA AAA user authentication Rejected : reason = {reason} : server = {ip} : user = {user}",
    ),
    "windows": (
        "MSWinEventLog 1 Security {int} Mon Mar {int} {time} 2026 4624 {provider} {user} N/A Success Audit {host} Logon An account was successfully logged on. Subject: Security ID: {sid} Account Name: {user} Logon Type: {int}",
        "MSWinEventLog 1 Security {int} Mon Mar {int} {time} 2026 4625 {provider} {user} N/A Failure Audit {host} Logon An account failed to log on. Account Name: {user} Failure Reason: {reason} Source Network Address: {ip}",
        "MSWinEventLog 1 Security {int} Mon Mar {int} {time} 2026 4634 {provider} {user} N/A Success Audit {host} Logoff An account was logged off. Security ID: {sid} Logon Type: {int}",
        "MSWinEventLog 1 System {int} Mon Mar {int} {time} 2026 7036 {provider} N/A N/A Information {host} None The {service} service entered the {word} state.",
        "MSWinEventLog 1 System {int} Mon Mar {int} {time} 2026 7045 {provider} {user} N/A Information {host} None A service was installed in the system. Service Name: {service} Service File Name: {path}",
        "MSWinEventLog 1 Security {int} Mon Mar {int} {time} 2026 4688 {provider} {user} N/A Success Audit {host} Process Creation A new process has been created. New Process Name: {path} Creator Process ID: {hex}",
        "MSWinEventLog 1 Security {int} Mon Mar {int} {time} 2026 4740 {provider} {user} N/A Success Audit {host} User Account Management A user account was locked out. Account Name: {user} Caller Computer Name: {host}",
        "MSWinEventLog 1 System {int} Mon Mar {int} {time} 2026 41 {provider} N/A N/A Critical {host} None The system has rebooted without cleanly shutting down first.",
        "MSWinEventLog 1 Application {int} Mon Mar {int} {time} 2026 1000 Application_Error N/A N/A Error {host} None Faulting application name: {word}.exe, version: {float}, faulting module name: {word}.dll, exception code: {hex}",
    ),
    "postfix": (
        "postfix/smtpd connect from {host}[{ip}]",
        "postfix/smtpd disconnect from {host}[{ip}] ehlo=1 mail=1 rcpt={int} data=1 quit=1 commands={int}",
        "postfix/smtpd {qid}: client={host}[{ip}]",
        "postfix/cleanup {qid}: message-id=<{hex8}.{int}@{host}>",
        "postfix/qmgr {qid}: from=<{email}>, size={int}, nrcpt={int} (queue active)",
        "postfix/smtp {qid}: to=<{email}>, relay={host}[{ip}]:25, delay={float}, delays={float}/{float}/{float}/{float}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {qid})",
        "postfix/smtp {qid}: to=<{email}>, relay=none, delay={float}, dsn=4.4.1, status=deferred (connect to {host}[{ip}]:25: Connection {word})",
        "postfix/qmgr {qid}: removed",
        "postfix/smtpd NOQUEUE: reject: RCPT from {host}[{ip}]: 554 5.7.1 <{email}>: Relay access denied; from=<{email}> to=<{email}> proto=ESMTP helo=<{host}>",
        "postfix/smtpd warning: hostname {host} does not resolve to address {ip}: Name or service not known",
        "dovecot imap-login: Login: user=<{email}>, method=PLAIN, rip={ip}, lip={ip}, mpid={pid}, TLS, session=<{hex8}>",
        "dovecot imap({email}): Disconnected: Logged out in={int} out={int}",
    ),
    "postgres": (
        "postgres[{pid}] LOG:  connection received: host={ip} port={port}",
        "postgres[{pid}] LOG:  connection authorized: user={user} database={table} application_name={word}",
        "postgres[{pid}] LOG:  duration: {float} ms  statement: SELECT * FROM {table} WHERE id = {int}",
        "postgres[{pid}] LOG:  duration: {float} ms  statement: UPDATE {table} SET status = '{word}' WHERE id = {int}",
        'postgres[{pid}] ERROR:  duplicate key value violates unique constraint "{table}_pkey"',
        'postgres[{pid}] ERROR:  relation "{table}" does not exist at character {int}',
        'postgres[{pid}] FATAL:  password authentication failed for user "{user}"',
        "postgres[{pid}] LOG:  checkpoint starting: {word}",
        "postgres[{pid}] LOG:  checkpoint complete: wrote {int} buffers ({float}%); {int} WAL file(s) added, {int} removed, {int} recycled; write={float} s, sync={float} s, total={float} s",
        'postgres[{pid}] LOG:  automatic vacuum of table "{table}.public.{table}": index scans: {int}',
        "postgres[{pid}] LOG:  disconnection: session time: {time} user={user} database={table} host={ip} port={port}",
        "mysqld [Warning] Aborted connection {int} to db: '{table}' user: '{user}' host: '{ip}' ({reason})",
        "mysqld [Note] Access denied for user '{user}'@'{ip}' (using password: YES)",
    ),
    "kubernetes": (
        'kubelet I0301 {time} {pid} kubelet.go:{int}] "SyncLoop ADD" source="api" pods=["{ns}/{pod}"]',
        'kubelet I0301 {time} {pid} kubelet.go:{int}] "SyncLoop DELETE" source="api" pods=["{ns}/{pod}"]',
        'kubelet E0301 {time} {pid} pod_workers.go:{int}] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"{word}\\" with CrashLoopBackOff" pod="{ns}/{pod}" podUID={uuid}',
        'kubelet I0301 {time} {pid} kuberuntime_manager.go:{int}] "Container {word} failed liveness probe, will be restarted" pod="{ns}/{pod}"',
        'kubelet I0301 {time} {pid} eviction_manager.go:{int}] "Eviction manager: attempting to reclaim" resourceName="{word}"',
        'containerd time="2026-03-01T{time}Z" level=info msg="StartContainer for \\"{cid}\\" returns successfully"',
        'containerd time="2026-03-01T{time}Z" level=info msg="shim disconnected" id={cid} namespace=k8s.io',
        'containerd time="2026-03-01T{time}Z" level=info msg="PullImage \\"{image}\\" returns image reference \\"sha256:{cid}\\""',
        'dockerd time="2026-03-01T{time}Z" level=error msg="Handler for POST /v1.{int}/containers/{cid}/start returned error: {reason}"',
        'kube-apiserver I0301 {time} {pid} httplog.go:{int}] "HTTP" verb="{method}" URI="/api/v1/namespaces/{ns}/pods/{pod}" latency="{dur}" userAgent="kubectl/v1.{int}.0" audit-ID="{uuid}" srcIP="{ip}:{port}" resp={status}',
        'kube-scheduler I0301 {time} {pid} schedule_one.go:{int}] "Successfully bound pod to node" pod="{ns}/{pod}" node="{host}" evaluatedNodes={int} feasibleNodes={int}',
    ),
    "proxy": (
        'haproxy {ip}:{port} [01/Mar/2026:{time}] {word}~ {word}/{host} {int}/{int}/{int}/{int}/{int} {status} {int} - - ---- {int}/{int}/{int}/{int}/0 0/0 "{method} {url} HTTP/1.1"',
        "haproxy Server {word}/{host} is DOWN, reason: Layer4 timeout, check duration: {dur}. {int} active and 0 backup servers left.",
        "haproxy Server {word}/{host} is UP, reason: Layer7 check passed, code: 200, check duration: {dur}. {int} active and 0 backup servers online.",
        'nginx {ip} - - [01/Mar/2026:{time} +0000] "{method} {url} HTTP/2.0" {status} {int} "-" "Mozilla/5.0 ({reason})" rt={float} uct="{float}"',
        'nginx [error] {pid}#{pid}: *{int} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {host}, request: "{method} {url} HTTP/1.1", upstream: "http://{ip}:{port}{url}"',
        "nginx [warn] {pid}#{pid}: *{int} an upstream response is buffered to a temporary file {path} while reading upstream, client: {ip}, server: {host}",
        'nginx [error] {pid}#{pid}: *{int} open() "{path}" failed (2: No such file or directory), client: {ip}, server: {host}, request: "{method} {url} HTTP/1.1"',
        "squid {float} {int} {ip} TCP_{word}/{status} {int} {method} {url} - HIER_DIRECT/{ip} text/html",
    ),
}

_SLOT_RE = re.compile(r"\{(\w+)\}")


def _weights(n: int, rng: random.Random) -> list[float]:
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1 / r**1.1 for r in ranks]


def generate(system: str, lines: int, seed: int) -> tuple[list[str], list[int], tuple[str, ...]]:
    """(lines, true template index of each, the system's templates) for one system."""
    templates = SYSTEMS[system]
    rng = random.Random(f"{system}/{seed}")
    parts = [_SLOT_RE.split(t) for t in templates]  # literal, kind, literal, kind, ...
    picks = rng.choices(range(len(templates)), weights=_weights(len(templates), rng), k=lines)
    out = []
    for t in picks:
        pieces = parts[t]
        out.append("".join(p if i % 2 == 0 else _SLOTS[p](rng) for i, p in enumerate(pieces)))
    return out, picks, templates


def truth_template(template: str) -> str:
    """A template with every slot as <*>, for parsing accuracy."""
    return _SLOT_RE.sub("<*>", template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", choices=sorted(SYSTEMS), default="sshd")
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    lines, truth, _ = generate(args.system, args.lines, args.seed)
    for t, line in zip(truth, lines, strict=True):
        print(f"{t}\t{line}")


if __name__ == "__main__":
    main()
