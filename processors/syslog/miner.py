"""Log-template miner: Drain (as in Drain3) on masked tokens, with an exact memo in front.

Why not drain3.TemplateMiner: its regex masking is most of its cost, its state is a jsonpickle of live
objects, and its cluster ids are counters that differ between workers. Here:

- masking is processors.syslog.masking (one split, a memo per token); for mining, <HEX> counts as <NUM>
  (an id is hex in one line and all digits in the next);
- the Drain tree, similarity and template merging are drain3.drain.Drain's, with four general changes
  that lift grouping accuracy on the labelled corpora of bench/labelled.py (0.65 -> 0.92 on average,
  with no per-system setting): depth 5 and sim_th 0.5 by default (the tag leads the text); past the
  tag, only a word routes to its own branch (numbers, masked variables and tokens with punctuation go
  down the wildcard branch, so "(root)" or "nginx.service:" do not split a template per value); and a
  template's text writes each run of wildcards as one "<*>", so Drain clusters of one message with a
  free-text variable of one, two or five words, once generalised, share one text and one id;
- a memo maps a masked line to its cluster, skipping the tree search. It is exact, not a heuristic: a
  Drain answer depends only on the clusters of the line's token count and their templates, so the memo
  for a token count is emptied whenever a cluster of that count is created, generalised or evicted,
  and a line is only memoised once adding it has left its cluster's template covering it;
- a template's id is a hash of its text, so every worker and every restart agrees on it; when a
  cluster's template generalises, changes() re-points its older ids to the new one;
- snapshot() is an explicit, version-tagged msgpack of clusters, tree and id history (zlib-compressed),
  and restore() rebuilds exactly that state; version 1 snapshots (before the caps and collapsed texts)
  load with the default caps, and a cluster whose text collapses differently moves on to the new id
  through a re-pointing change, as if it had generalised;
- the cost of a line is bounded whatever the input (random lines make one new cluster each, and Drain's
  leaf search is linear in the clusters of a leaf): a leaf holds at most max_leaf clusters, and a new
  one in a full leaf evicts the leaf's smallest (oldest among equals), so real templates, which keep
  growing, outlive one-off noise; the miner holds at most max_clusters (the smallest of the 16 least
  recently used goes: Drain3 evicts the least recently used, which lets a flood of one-off lines push
  out every quiet template); the memo and the masking memo are bounded; masking turns a token with
  unprintable characters into <BIN>, and a line more than half <BIN> is mined as all <BIN>, so binary
  garbage collapses into one cluster per token count.

Several clusters can have the same template text (Drain keeps them apart in different tree branches or
token counts); they then share a template id, and an id still current for one cluster is never
re-pointed because another generalised.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import islice
from operator import eq

import msgspec

from processors.syslog.masking import mask_tokens

__all__ = [
    "DEPTH",
    "MAX_CLUSTERS",
    "MAX_LEAF",
    "SIM_TH",
    "WILDCARD",
    "Miner",
    "PatternChange",
    "template_id",
    "template_text",
]

WILDCARD = "<*>"
_BIN = "<BIN>"
_HEX = "<HEX>"
_NUM = "<NUM>"
_ID_MASK = (1 << 63) - 1
_FORMAT = "netobs-miner"
_VERSION = 2
_READABLE = (1, 2)
# Default caps: a partition's state stays within a few tens of MB, a line's search within max_leaf clusters.
MAX_CLUSTERS = 50_000
# Drain3's defaults are 0.4 and 4. The mining text starts with the program's tag, so depth 5 routes by the
# tag and the message's first token, as depth 4 routes a bare message; 0.5 keeps templates that differ in
# one word of a short message ("Accepted password" / "Failed password") apart. Measured on bench/labelled.py.
SIM_TH = 0.5
DEPTH = 5
MAX_LEAF = 64
# When the miner is full, the smallest of this many least recently used clusters goes: a flood of one-off
# lines evicts its own clusters rather than a quiet template that has thousands of lines.
_EVICT_WINDOW = 16
# Entries in the memo of masked lines, over all token counts; emptied when full. About 10 MB.
_HOT_MAX = 1 << 16


def template_text(tokens: Sequence[str]) -> str:
    """A template's text: its tokens, with every run of wildcards written as one "<*>" (a span of any length)."""
    out: list[str] = []
    for t in tokens:
        if t != WILDCARD or not out or out[-1] != WILDCARD:
            out.append(t)
    return " ".join(out)


def template_id(template: str) -> int:
    """Stable 63-bit id of a template text: fits ClickHouse UInt64, a signed int64 and JSON consumers."""
    digest = blake2b(template.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _ID_MASK


@dataclass(frozen=True, slots=True)
class PatternChange:
    """A template id that appeared or whose cluster moved on to a more general template (current_id)."""

    template_id: int
    template: str
    current_id: int
    first_seen_ns: int


@dataclass(slots=True, eq=False)
class _Cluster:
    cid: int
    tokens: tuple[str, ...]
    size: int
    first_seen_ns: int
    ids: list[int]  # every template id this cluster has had, oldest first; the last is current
    tid: int  # == ids[-1], kept apart for the memo hit path
    params: int  # wildcards in tokens: Drain's tie-break between equally similar clusters
    alive: bool = True  # False once evicted; the tree drops dead clusters lazily, as Drain does


@dataclass(slots=True, eq=False)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[_Cluster] = field(default_factory=list)


class _TreeNode(msgspec.Struct, array_like=True):
    clusters: list[int]
    children: dict[str, _TreeNode]


class _StateV1(msgspec.Struct, array_like=True):
    sim_th: float
    depth: int
    max_children: int
    max_clusters: int | None
    next_cid: int
    # (cluster id, template tokens, size, first seen ns, template ids oldest first), LRU order first
    clusters: list[tuple[int, list[str], int, int, list[int]]]
    old_texts: dict[int, str]  # texts of ids that are no longer a cluster's current template
    tree: dict[int, _TreeNode]  # token count -> subtree
    pending: list[tuple[int, str, int, int]]  # PatternChange fields


class _StateV2(msgspec.Struct, array_like=True):
    v1: _StateV1
    max_leaf: int | None


class _Envelope(msgspec.Struct, array_like=True):
    format: str
    version: int
    body: msgspec.Raw


class Miner:
    """Drain state of one stream (one partition): clusters, prefix tree, template ids, pending changes."""

    def __init__(
        self,
        sim_th: float = SIM_TH,
        depth: int = DEPTH,
        max_children: int = 100,
        max_clusters: int | None = MAX_CLUSTERS,
        max_leaf: int | None = MAX_LEAF,
    ) -> None:
        if depth < 3:
            raise ValueError("depth must be at least 3")
        if max_children < 1:
            raise ValueError("max_children must be at least 1")
        if max_clusters is not None and max_clusters < 1:
            raise ValueError("max_clusters must be at least 1 (or None for no limit)")
        if max_leaf is not None and max_leaf < 1:
            raise ValueError("max_leaf must be at least 1 (or None for no limit)")
        self._max_leaf = max_leaf
        self._sim_th = sim_th
        self._depth = depth
        self._leaf_depth = depth - 2
        self._max_children = max_children
        self._max_clusters = max_clusters
        self._root: dict[int, _Node] = {}  # token count -> first level of the prefix tree
        self._clusters: dict[int, _Cluster] = {}  # least recently used first when max_clusters is set
        self._next_cid = 1
        self._texts: dict[int, str] = {}  # template id -> text, for every id a live cluster has had
        self._refs: dict[int, int] = {}  # template id -> live clusters that have had it
        self._current: dict[int, int] = {}  # template id -> live clusters whose current template it is
        self._pending: dict[int, PatternChange] = {}
        self._hot: dict[int, dict[str, _Cluster]] = {}  # token count -> masked line -> cluster
        self._hot_size = 0

    def __len__(self) -> int:
        return len(self._clusters)

    def add(self, text: str, seen_ns: int) -> int:
        """Mine one line; the id of its cluster's template right after adding it."""
        tokens = mask_tokens(text)
        key = " ".join(tokens)
        if _HEX in key:  # an id is hex in one line and all digits in the next: one kind for mining
            tokens = [t.replace(_HEX, _NUM) if _HEX in t else t for t in tokens]
            key = " ".join(tokens)
        if _BIN in key and tokens.count(_BIN) * 2 > len(tokens):  # mostly binary: noise, one template a length
            tokens = [_BIN] * len(tokens)
            key = " ".join(tokens)
        hot = self._hot.get(len(tokens))
        if hot is not None:
            cluster = hot.get(key)
            if cluster is not None:
                cluster.size += 1
                if self._max_clusters is not None:
                    self._clusters[cluster.cid] = self._clusters.pop(cluster.cid)
                return cluster.tid
        return self._add_slow(tokens, key, seen_ns)

    def add_many(self, texts: Sequence[str], seen_ns: Sequence[int]) -> list[int]:
        """add() for each (text, seen_ns) pair, in order."""
        if len(texts) != len(seen_ns):
            raise ValueError(f"{len(texts)} texts but {len(seen_ns)} times")
        add = self.add
        return [add(t, s) for t, s in zip(texts, seen_ns, strict=True)]

    def template(self, template_id: int) -> str | None:
        """Text of a template id that a live cluster has (or had); None for an unknown id."""
        return self._texts.get(template_id)

    def changes(self) -> list[PatternChange]:
        """Templates created or re-pointed since the last call, oldest first; clears the list."""
        out = list(self._pending.values())
        self._pending.clear()
        return out

    def snapshot(self) -> bytes:
        """The whole state as compact bytes; restore() continues exactly where this miner is."""
        clusters = self._clusters.values()
        state = _StateV1(
            self._sim_th,
            self._depth,
            self._max_children,
            self._max_clusters,
            self._next_cid,
            [(c.cid, list(c.tokens), c.size, c.first_seen_ns, c.ids) for c in clusters],
            {tid: self._texts[tid] for c in clusters for tid in c.ids[:-1]},
            {n: _dump_node(node) for n, node in self._root.items()},
            [(p.template_id, p.template, p.current_id, p.first_seen_ns) for p in self._pending.values()],
        )
        body = msgspec.msgpack.encode(_StateV2(state, self._max_leaf))
        return zlib.compress(msgspec.msgpack.encode(_Envelope(_FORMAT, _VERSION, msgspec.Raw(body))))

    @classmethod
    def restore(cls, data: bytes) -> Miner:
        """A miner from snapshot() bytes; ValueError if they are not a snapshot this version can read."""
        try:
            envelope = msgspec.msgpack.decode(zlib.decompress(data), type=_Envelope)
        except (zlib.error, ValueError) as e:
            raise ValueError(f"not a miner snapshot: {e}") from e
        if envelope.format != _FORMAT or envelope.version not in _READABLE:
            raise ValueError(f"unsupported miner snapshot {envelope.format!r} version {envelope.version}")
        max_clusters: int | None
        max_leaf: int | None
        try:
            if envelope.version == 1:  # from before the caps: it takes the default ones from now on
                state = msgspec.msgpack.decode(envelope.body, type=_StateV1)
                max_clusters, max_leaf = state.max_clusters or MAX_CLUSTERS, MAX_LEAF
            else:
                v2 = msgspec.msgpack.decode(envelope.body, type=_StateV2)
                state, max_clusters, max_leaf = v2.v1, v2.v1.max_clusters, v2.max_leaf
        except ValueError as e:
            raise ValueError(f"corrupt miner snapshot: {e}") from e
        miner = cls(state.sim_th, state.depth, state.max_children, max_clusters, max_leaf)
        # Version 1 wrote templates without collapsing wildcard runs: their ids stay known, and a cluster
        # whose text collapses differently moves on to the new id below (a re-pointing change).
        current_text = _plain_text if envelope.version == 1 else template_text
        miner._next_cid = state.next_cid
        for cid, tokens, size, first_seen_ns, ids in state.clusters:
            if not ids:
                raise ValueError(f"corrupt miner snapshot: cluster {cid} has no template id")
            tpl = tuple(tokens)
            cluster = _Cluster(cid, tpl, size, first_seen_ns, ids, ids[-1], tpl.count(WILDCARD))
            miner._clusters[cid] = cluster
            miner._current[cluster.tid] = miner._current.get(cluster.tid, 0) + 1
            for tid in ids:
                miner._refs[tid] = miner._refs.get(tid, 0) + 1
                text = current_text(tpl) if tid == cluster.tid else state.old_texts.get(tid)
                if text is None:
                    raise ValueError(f"corrupt miner snapshot: no text for template id {tid}")
                miner._texts[tid] = text
        miner._root = {n: _load_node(node, miner._clusters) for n, node in state.tree.items()}
        miner._pending = {p[0]: PatternChange(*p) for p in state.pending}
        if envelope.version == 1:
            for cluster in list(miner._clusters.values()):
                if template_id(template_text(cluster.tokens)) != cluster.tid:
                    miner._generalise(cluster, cluster.tokens)
        while max_clusters is not None and len(miner._clusters) > max_clusters:
            miner._evict(min(islice(miner._clusters.values(), _EVICT_WINDOW), key=_size))
        return miner

    def _add_slow(self, tokens: list[str], key: str, seen_ns: int) -> int:
        """Drain proper: tree search, then create a cluster or merge into the best one."""
        n = len(tokens)
        cluster = self._search(tokens)
        if cluster is None:
            cluster = self._create(tuple(tokens), seen_ns)
        else:
            cluster.size += 1
            if self._max_clusters is not None:
                self._clusters[cluster.cid] = self._clusters.pop(cluster.cid)
            old = cluster.tokens
            new = tuple(a if a == b else WILDCARD for a, b in zip(old, tokens, strict=True))
            if new != old:
                self._generalise(cluster, new)
                self._drop_hot(n)
        # A line holding a literal "<*>" scores lower against the template it just made, so its next
        # search may differ: never memoised.
        if WILDCARD not in tokens:
            if self._hot_size >= _HOT_MAX:
                self._hot.clear()
                self._hot_size = 0
            hot = self._hot.get(n)
            if hot is None:
                hot = self._hot[n] = {}
            hot[key] = cluster
            self._hot_size += 1
        return cluster.tid

    def _search(self, tokens: list[str]) -> _Cluster | None:
        """Drain's tree search: token count, then the first depth-2 tokens (or a wildcard branch)."""
        n = len(tokens)
        node = self._root.get(n)
        if node is None:
            return None
        if n == 0:
            first = node.clusters[0] if node.clusters else None
            return first if first is not None and first.alive else None
        depth = 1
        leaf_depth = self._leaf_depth
        for token in tokens:
            if depth >= leaf_depth or depth == n:
                break
            children = node.children
            node = children.get(token) or children.get(WILDCARD)
            if node is None:
                return None
            depth += 1
        return self._best(node.clusters, tokens)

    def _best(self, clusters: list[_Cluster], tokens: list[str]) -> _Cluster | None:
        """The most similar cluster (share of equal non-wildcard tokens; more wildcards break ties)."""
        n = len(tokens)
        literal_wildcards = WILDCARD in tokens
        best = None
        best_sim = -1.0
        best_params = -1
        for c in clusters:
            if not c.alive:
                continue
            same = sum(map(eq, c.tokens, tokens))
            if literal_wildcards:
                same -= sum(a == WILDCARD and b == WILDCARD for a, b in zip(c.tokens, tokens, strict=True))
            sim = same / n
            if sim > best_sim or (sim == best_sim and c.params > best_params):
                best, best_sim, best_params = c, sim, c.params
        return best if best_sim >= self._sim_th else None

    def _create(self, tokens: tuple[str, ...], seen_ns: int) -> _Cluster:
        if self._max_clusters is not None and len(self._clusters) >= self._max_clusters:
            self._evict(min(islice(self._clusters.values(), _EVICT_WINDOW), key=_size))
        text = template_text(tokens)
        tid = template_id(text)
        cluster = _Cluster(self._next_cid, tokens, 1, seen_ns, [tid], tid, tokens.count(WILDCARD))
        self._next_cid += 1
        self._clusters[cluster.cid] = cluster
        self._insert(cluster)
        self._texts[tid] = text
        self._refs[tid] = self._refs.get(tid, 0) + 1
        self._current[tid] = self._current.get(tid, 0) + 1
        self._pending[tid] = PatternChange(tid, text, tid, seen_ns)
        self._drop_hot(len(tokens))
        return cluster

    def _generalise(self, cluster: _Cluster, tokens: tuple[str, ...]) -> None:
        """Give cluster a more general template and re-point its older ids to it."""
        text = template_text(tokens)
        tid = template_id(text)
        self._release_current(cluster.tid)
        self._current[tid] = self._current.get(tid, 0) + 1
        cluster.tokens = tokens
        cluster.params = tokens.count(WILDCARD)
        cluster.tid = tid
        if tid not in cluster.ids:
            cluster.ids.append(tid)
            self._refs[tid] = self._refs.get(tid, 0) + 1
            self._texts[tid] = text
        first = cluster.first_seen_ns
        for old in cluster.ids:
            if old != tid and old not in self._current:
                self._pending[old] = PatternChange(old, self._texts[old], tid, first)
        self._pending[tid] = PatternChange(tid, text, tid, first)

    def _evict(self, victim: _Cluster) -> None:
        """Forget a cluster: the smallest of the least recently used few, or the smallest of a full leaf."""
        del self._clusters[victim.cid]
        victim.alive = False
        self._release_current(victim.tid)
        for tid in victim.ids:
            left = self._refs[tid] - 1
            if left:
                self._refs[tid] = left
            else:
                del self._refs[tid]
                del self._texts[tid]
        self._drop_hot(len(victim.tokens))

    def _release_current(self, tid: int) -> None:
        left = self._current[tid] - 1
        if left:
            self._current[tid] = left
        else:
            del self._current[tid]

    def _drop_hot(self, n: int) -> None:
        hot = self._hot.pop(n, None)
        if hot is not None:
            self._hot_size -= len(hot)

    def _insert(self, cluster: _Cluster) -> None:
        """Hang a new cluster in the tree by its first tokens, as Drain's add_seq_to_prefix_tree does."""
        tokens = cluster.tokens
        n = len(tokens)
        node = self._root.get(n)
        if node is None:
            node = self._root[n] = _Node()
        if n == 0:
            node.clusters = [cluster]
            return
        depth = 1
        for token in tokens:
            if depth >= self._leaf_depth or depth >= n:
                self._hang(node, cluster)
                return
            node = self._child(node.children, token, depth > 1)
            depth += 1

    def _hang(self, leaf: _Node, cluster: _Cluster) -> None:
        """Add cluster to a leaf; in a full leaf, first evict its smallest cluster (oldest among equals)."""
        members = [c for c in leaf.clusters if c.alive]
        if self._max_leaf is not None and len(members) >= self._max_leaf:
            victim = min(members, key=_smallest_oldest)
            members.remove(victim)
            self._evict(victim)
        members.append(cluster)
        leaf.clusters = members

    def _child(self, children: dict[str, _Node], token: str, words_only: bool) -> _Node:
        """The branch for token: its own, or the wildcard branch for numbers, masked variables, full
        nodes and, past the first token (the tag), anything but a word (_is_word): "(root)", "eth0:",
        "nginx.service:" are mostly variables, and a variable routed on its own branch splits its
        template once per value."""
        child = children.get(token)
        if child is not None:
            return child
        if "<" in token or any(ch.isdigit() for ch in token) or (words_only and not _is_word(token)):
            child = children.get(WILDCARD)
            if child is None:
                child = children[WILDCARD] = _Node()
            return child
        if WILDCARD in children:
            if len(children) < self._max_children:
                child = children[token] = _Node()
                return child
            return children[WILDCARD]
        if len(children) + 1 < self._max_children:
            child = children[token] = _Node()
        elif len(children) + 1 == self._max_children:
            child = children[WILDCARD] = _Node()
        else:
            child = children[WILDCARD]
        return child


def _is_word(token: str) -> bool:
    """Letters, with - or _ between them, and perhaps a final colon: "Accepted", "UI_COMMIT:"."""
    return token.rstrip(":").replace("_", "a").replace("-", "a").isalpha()


def _plain_text(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


def _size(c: _Cluster) -> int:
    return c.size


def _smallest_oldest(c: _Cluster) -> tuple[int, int]:
    return c.size, c.cid


def _dump_node(node: _Node) -> _TreeNode:
    return _TreeNode([c.cid for c in node.clusters if c.alive], {k: _dump_node(v) for k, v in node.children.items()})


def _load_node(node: _TreeNode, clusters: dict[int, _Cluster]) -> _Node:
    try:
        members = [clusters[cid] for cid in node.clusters]
    except KeyError as e:
        raise ValueError(f"corrupt miner snapshot: tree names unknown cluster {e}") from None
    return _Node({k: _load_node(v, clusters) for k, v in node.children.items()}, members)
