"""Synthetic syslog message bodies with known templates, for measuring template miners.

Each body is what the miner sees after the syslog headers are parsed off: "TAG message" (as
processors.syslog.parse.mining_text builds it; Cisco/ASA mnemonics give their facility as the tag, FortiGate
and similar key=value lines have no tag). 86 templates from sshd, cron, the kernel, Cisco IOS and ASA,
Junos, dhcpd, postfix, systemd, chrony, snmpd, sudo, named, audit, keepalived, haproxy, FortiGate and
pfSense, with Zipf-like frequencies. Every field is one token, so one true template always has one token
count: a miner is judged on what it can see. Deterministic for a given seed.

    python bench/corpus.py [--lines N] [--seed S]   # prints "template_index<TAB>body" lines
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from collections.abc import Callable

_USERS = [
    "root", "admin", "alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "oscar", "peggy", "trent", "victor", "walter", "ubuntu", "ec2-user", "git", "deploy",
    "backup", "nagios", "zabbix", "postgres", "oracle", "test", "guest", "support", "netops", "svc_ansible",
]  # fmt: skip
_HOSTS = [
    "web-01.example.net", "web-02.example.net", "db-01.example.net", "mail.example.org", "ns1.example.com",
    "core-sw1", "edge-rtr2", "fw-dc1", "ap-3f-east", "printer-2", "nas01.lan", "vpn-gw.example.com",
]  # fmt: skip
_DOMAINS = ["example.com", "example.org", "corp.example.net", "mail.example.io"]
_CMDS = ["/usr/local/bin/backup.sh", "/usr/lib/php/sessionclean", "run-parts", "/opt/scripts/rotate.py",
         "/usr/bin/certbot", "/usr/sbin/logrotate"]  # fmt: skip
_UNITS = ["apt-daily.service", "logrotate.service", "man-db.service", "fstrim.service", "nginx.service",
          "docker.service", "snapd.refresh.service", "certbot.timer", "motd-news.service"]  # fmt: skip
_PROCS = ["java", "python3", "node", "postgres", "chrome", "mysqld", "ruby", "php-fpm"]
_LINUX_IFS = ["eth0", "eth1", "ens3", "ens192", "enp0s31f6", "bond0", "br0", "wlan0", "em0", "igb1"]
_URLS = ["/", "/index.html", "/api/v1/status", "/login", "/static/app.js", "/favicon.ico", "/metrics"]


def _cisco_if(rng: random.Random) -> str:
    kind = rng.choice(("GigabitEthernet", "TenGigabitEthernet", "FastEthernet", "Port-channel", "Vlan"))
    if kind == "Port-channel":
        return f"{kind}{rng.randint(1, 48)}"
    if kind == "Vlan":
        return f"{kind}{rng.randint(1, 4094)}"
    return f"{kind}{rng.randint(0, 2)}/{rng.randint(0, 1)}/{rng.randint(1, 48)}"


def _ip(rng: random.Random) -> str:
    first = rng.choice((10, 172, 192, rng.randint(1, 223)))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _hexs(rng: random.Random, n: int, upper: bool = False) -> str:
    s = "".join(rng.choice("0123456789abcdef") for _ in range(n))
    return s.upper() if upper else s


def _mac(rng: random.Random, sep: str = ":") -> str:
    return sep.join(_hexs(rng, 2) for _ in range(6))


def _cisco_mac(rng: random.Random) -> str:
    return ".".join(_hexs(rng, 4) for _ in range(3))


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _clf_time(rng: random.Random) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.choice(('Jan', 'Feb', 'Mar'))}/2025:{_time(rng)}.{rng.randint(0, 999):03d}"


def _fingerprint(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(43))


# Field name -> generator. Template texts below name these fields in braces.
_FIELDS: dict[str, Callable[[random.Random], str]] = {
    "ip": _ip,
    "ip2": _ip,
    "ip6": lambda r: f"2001:db8:{_hexs(r, 4)}::{r.randint(1, 0xFFFF):x}",
    "port": lambda r: str(r.choice((22, 80, 443, 53, 161, r.randint(1024, 65535), r.randint(1024, 65535)))),
    "port2": lambda r: str(r.randint(1024, 65535)),
    "user": lambda r: r.choice(_USERS),
    "pid": lambda r: str(r.randint(300, 65000)),
    "uid": lambda r: str(r.choice((0, 33, 1000, 1001, 1002, r.randint(1000, 60000)))),
    "n": lambda r: str(r.randint(1, 16)),
    "num": lambda r: str(r.randint(0, 10**6)),
    "big": lambda r: str(r.randint(10**6, 10**10)),
    "ms": lambda r: f"{r.randint(0, 5000)}ms",
    "secs": lambda r: f"{r.uniform(0, 2):.6f}",
    "pct": lambda r: str(r.randint(0, 100)),
    "temp": lambda r: str(r.randint(40, 95)),
    "speed": lambda r: r.choice(("100", "1000", "10000")),
    "mac": _mac,
    "mac_dash": lambda r: _mac(r, "-"),
    "mac_cisco": _cisco_mac,
    "hex": lambda r: "0x" + _hexs(r, r.choice((4, 8, 12))),
    "qid": lambda r: _hexs(r, 10, upper=True),
    "hash": lambda r: _hexs(r, 40),
    "uuid": lambda r: f"{_hexs(r, 8)}-{_hexs(r, 4)}-{_hexs(r, 4)}-{_hexs(r, 4)}-{_hexs(r, 12)}",
    "fp": _fingerprint,
    "host": lambda r: r.choice(_HOSTS),
    "domain": lambda r: r.choice(_DOMAINS),
    "email": lambda r: f"{r.choice(_USERS)}@{r.choice(_DOMAINS)}",
    "cmd": lambda r: r.choice(_CMDS),
    "unit": lambda r: r.choice(_UNITS),
    "proc": lambda r: r.choice(_PROCS),
    "ifname": lambda r: r.choice(_LINUX_IFS),
    "cif": _cisco_if,
    "cif2": _cisco_if,
    "jif": lambda r: f"{r.choice(('ge', 'xe', 'et'))}-{r.randint(0, 1)}/{r.randint(0, 1)}/{r.randint(0, 47)}",
    "updown": lambda r: r.choice(("up", "down")),
    "vlan": lambda r: str(r.randint(1, 4094)),
    "asn": lambda r: str(r.choice((64512, 65001, 65100, 3356, 174, 2914))),
    "time": _time,
    "date": lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "clf": _clf_time,
    "epoch": lambda r: f"{r.randint(1_700_000_000, 1_760_000_000)}.{r.randint(0, 999):03d}",
    "uptime": lambda r: f"{r.uniform(1, 2_000_000):.6f}",
    "url": lambda r: r.choice(_URLS),
    "status": lambda r: r.choice(("200", "200", "200", "304", "404", "500")),
    "dir": lambda r: r.choice(("inbound", "outbound")),
    "proto": lambda r: r.choice(("TCP", "UDP")),
    "dur": lambda r: f"0:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    "size": lambda r: r.choice(("1.2GB", "512MB", "3.5GB", "20GB", "640KB")),
    "pts": lambda r: f"pts/{r.randint(0, 9)}",
    "rate": lambda r: f"{r.uniform(0, 1000):.1f}Mbps",
    "runtime": lambda r: f"{r.randint(60, 7200)}s",
}

TEMPLATES: tuple[str, ...] = (
    # sshd / PAM
    "sshd Accepted password for {user} from {ip} port {port} ssh2",
    "sshd Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:{fp}",
    "sshd Failed password for {user} from {ip} port {port} ssh2",
    "sshd Failed password for invalid user {user} from {ip} port {port} ssh2",
    "sshd Invalid user {user} from {ip} port {port}",
    "sshd Connection closed by {ip} port {port} [preauth]",
    "sshd Received disconnect from {ip} port {port}:11: disconnected by user",
    "sshd pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)",
    "sshd pam_unix(sshd:session): session closed for user {user}",
    "sshd Disconnected from user {user} {ip} port {port}",
    "sshd Did not receive identification string from {ip} port {port}",
    "sshd Connection reset by authenticating user {user} {ip} port {port} [preauth]",
    # cron
    "CRON ({user}) CMD ({cmd})",
    "CRON pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)",
    "CRON pam_unix(cron:session): session closed for user {user}",
    # kernel
    "kernel [UFW BLOCK] IN={ifname} OUT= MAC={mac}:{mac}:08:00 SRC={ip} DST={ip2} LEN={num} TOS=0x00 "
    "PREC=0x00 TTL={n} ID={num} DF PROTO=TCP SPT={port} DPT={port2} WINDOW={num} RES=0x00 SYN URGP=0",
    "kernel {ifname}: Link is Up - {speed}Mbps/Full - flow control off",
    "kernel {ifname}: Link is Down",
    "kernel Out of memory: Killed process {pid} ({proc}) total-vm:{num}kB, anon-rss:{num}kB, "
    "file-rss:{num}kB, shmem-rss:0kB, UID:{uid} pgtables:{num}kB oom_score_adj:0",
    "kernel [{uptime}] {ifname}: entered promiscuous mode",
    "kernel TCP: request_sock_TCP: Possible SYN flooding on port {port}. Sending cookies.",
    "kernel nf_conntrack: table full, dropping packet",
    "kernel EXT4-fs (sda{n}): mounted filesystem with ordered data mode. Quota mode: none.",
    # Cisco IOS (tag = facility of %FAC-SEV-MNEMONIC)
    "LINK Interface {cif}, changed state to {updown}",
    "LINEPROTO Line protocol on Interface {cif}, changed state to {updown}",
    "SYS Configured from console by {user} on vty{n} ({ip})",
    "SEC_LOGIN Login Success [user: {user}] [Source: {ip}] [localport: 22] at {time} UTC Mon Jan 13 2025",
    "SEC_LOGIN Login failed [user: {user}] [Source: {ip}] [localport: 22] [Reason: Login Authentication "
    "Failed] at {time} UTC Mon Jan 13 2025",
    "SSH SSH2 Session request from {ip} (tty = {n}) using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Succeeded",
    "DUAL EIGRP-IPv4 {asn}: Neighbor {ip} ({cif}) is {updown}: new adjacency",
    "BGP neighbor {ip} Up",
    "BGP neighbor {ip} Down BGP Notification sent",
    "OSPF Process {n}, Nbr {ip} on {cif} from LOADING to FULL, Loading Done",
    "OSPF Process {n}, Nbr {ip} on {cif} from FULL to DOWN, Neighbor Down: Dead timer expired",
    "SW_MATM Host {mac_cisco} in vlan {vlan} is flapping between port {cif} and port {cif2}",
    "PORT_SECURITY Security violation occurred, caused by MAC address {mac_cisco} on port {cif}.",
    "SYS CPU utilization for five seconds: {pct}%/{pct}%; one minute: {pct}%; five minutes: {pct}%",
    "ENVMON Temperature sensor {n} reading {temp}C exceeds warning threshold",
    "ILPOWER Interface {cif}: Power granted",
    "CDP Native VLAN mismatch discovered on {cif} ({vlan}), with {host} {cif2} ({vlan}).",
    # Cisco ASA
    "ASA Built {dir} {proto} connection {big} for outside:{ip}/{port} ({ip}/{port}) to inside:{ip2}/{port2} "
    "({ip2}/{port2})",
    "ASA Teardown {proto} connection {big} for outside:{ip}/{port} to inside:{ip2}/{port2} duration {dur} "
    "bytes {num} TCP FINs",
    'ASA Deny tcp src outside:{ip}/{port} dst inside:{ip2}/{port2} by access-group "outside_access_in" [{hex}, 0x0]',
    "ASA Built dynamic {proto} translation from inside:{ip}/{port} to outside:{ip2}/{port2}",
    "ASA AAA user authentication Successful : server = {ip} : user = {user}",
    # Junos
    "mgd UI_COMMIT: User '{user}' requested 'commit' operation (comment: none)",
    "rpd BGP_PREFIX_THRESH_EXCEEDED: {ip} (External AS {asn}): Configured maximum prefix-limit "
    "threshold({num}) exceeded for inet-unicast nlri: {num} (instance master)",
    "mib2d SNMP_TRAP_LINK_DOWN: ifIndex {num}, ifAdminStatus up(1), ifOperStatus down(2), ifName {jif}",
    # dhcpd
    "dhcpd DHCPDISCOVER from {mac} via {ifname}",
    "dhcpd DHCPOFFER on {ip} to {mac} via {ifname}",
    "dhcpd DHCPREQUEST for {ip} ({ip2}) from {mac} via {ifname}",
    "dhcpd DHCPACK on {ip} to {mac} ({host}) via {ifname}",
    "dhcpd DHCPRELEASE of {ip} from {mac} via {ifname} (found)",
    # postfix
    "postfix/smtpd connect from {host}[{ip}]",
    "postfix/smtpd disconnect from {host}[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
    "postfix/qmgr {qid}: from=<{email}>, size={num}, nrcpt=1 (queue active)",
    "postfix/smtp {qid}: to=<{email}>, relay={host}[{ip}]:25, delay={secs}, delays={secs}/{secs}/{secs}/{secs}, "
    "dsn=2.0.0, status=sent (250 2.0.0 OK {big} {hash} - gsmtp)",
    "postfix/cleanup {qid}: message-id=<{uuid}@{domain}>",
    # systemd
    "systemd Started Session {num} of user {user}.",
    "systemd {unit}: Succeeded.",
    "systemd {unit}: Main process exited, code=exited, status={n}/FAILURE",
    "systemd {unit}: Consumed {ms} CPU time.",
    "systemd-logind New session {num} of user {user}.",
    "systemd-logind Removed session {num}.",
    # time, SNMP, sudo, DNS, audit
    "chronyd Selected source {ip}",
    "chronyd System clock wrong by {secs} seconds, adjustment started",
    "ntpd adjust time server {ip} offset {secs} sec",
    "snmpd Connection from UDP: [{ip}]:{port2}->[{ip2}]:161",
    "sudo {user} : TTY={pts} ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}",
    "su (to root) {user} on {pts}",
    "named client @{hex} {ip}#{port2} ({host}): query: {host} IN A + ({ip2})",
    "audit type=USER_LOGIN msg=audit({epoch}:{num}): pid={pid} uid=0 auid={uid} ses={n} "
    "msg='op=login id={uid} exe=\"/usr/sbin/sshd\" hostname={ip} addr={ip} terminal=ssh res=success'",
    # keepalived, haproxy, backup jobs, DHCPv6
    "Keepalived_vrrp VRRP_Instance(VI_{n}) Entering MASTER STATE",
    "Keepalived_vrrp VRRP_Instance(VI_{n}) Received advert with higher priority {n}, ours {n}",
    "haproxy {ip}:{port2} [{clf}] fe_http be_app/srv{n} {n}/{n}/{n}/{n}/{ms} {status} {num} - - ---- "
    '{n}/{n}/{n}/{n}/0 0/0 "GET {url} HTTP/1.1"',
    "backup job {uuid} finished: {size} in {ms}, {pct}% deduplicated",
    "backup job {uuid} failed after {ms}: no space left on {host}",
    "dhcpd6 Reply NA: address {ip6} to client with duid {mac_dash} iaid = {num} valid for {num} seconds",
    # FortiGate and pfSense (no tag)
    'date={date} time={time} devname="FGT60F" devid="FGT60FTK1234" logid="0000000013" type="traffic" '
    'subtype="forward" level="notice" vd="root" srcip={ip} srcport={port2} srcintf="port1" dstip={ip2} '
    'dstport={port} dstintf="wan1" sessionid={big} proto=6 action="accept" policyid={n} service="HTTPS" '
    "duration={num} sentbyte={num} rcvdbyte={num}",
    "filterlog {n},,,{big},{ifname},match,block,in,4,0x0,,{n},{num},0,DF,6,tcp,60,{ip},{ip2},{port2},{port},0,S,"
    "{big},,64240,,mss;sackOK;TS;nop;wscale",
    # things operators grep for
    "nginx upstream timed out while reading response header from upstream, client: {ip}, upstream: "
    '"http://{ip2}:{port2}{url}"',
    "smartd Device: /dev/sd{n}, Temperature changed by {n} Celsius to {temp} Celsius",
    "zfs pool tank scrub repaired {size} in {dur} with {n} errors on {date}",
    # measurements with units
    "ping {ip}: {n} packets transmitted, {n} received, {pct}% packet loss, time {ms}",
    "netmon {cif} rate in {rate} out {rate} drops {n}",
    "upsd UPS ups1 on battery: charge {pct}% runtime {runtime} load {pct}%",
)


def _compile(template: str) -> tuple[list[str], list[Callable[[random.Random], str] | None]]:
    """Template text -> literal parts and field generators, alternating: parts[i] then fields[i]."""
    formatter = string.Formatter()
    parts: list[str] = []
    fields: list[Callable[[random.Random], str] | None] = []
    for literal, name, _spec, _conv in formatter.parse(template):
        parts.append(literal)
        fields.append(_FIELDS[name] if name is not None else None)
    return parts, fields


def generate(lines: int, seed: int = 1) -> tuple[list[str], list[int]]:
    """(bodies, true template index of each body); template frequencies follow 1/rank^0.9."""
    rng = random.Random(seed)
    compiled = [_compile(t) for t in TEMPLATES]
    order = list(range(len(TEMPLATES)))
    rng.shuffle(order)
    weights = [0.0] * len(TEMPLATES)
    for rank, index in enumerate(order, 1):
        weights[index] = 1.0 / rank**0.9
    truth = rng.choices(range(len(TEMPLATES)), weights=weights, k=lines)
    bodies = []
    for index in truth:
        parts, fields = compiled[index]
        out = []
        for literal, field in zip(parts, fields, strict=True):
            out.append(literal)
            if field is not None:
                out.append(field(rng))
        bodies.append("".join(out))
    return bodies, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bodies, truth = generate(args.lines, args.seed)
    for index, body in zip(truth, bodies, strict=True):
        sys.stdout.write(f"{index}\t{body}\n")


if __name__ == "__main__":
    main()
