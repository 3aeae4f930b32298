#include "actors/reid/offline_resolver.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <queue>
#include <set>
#include <tuple>

#include "accel/detect/appearance.hpp"

namespace weaver {

namespace {

using cam_pair = std::pair<uint32_t, uint32_t>;

cam_pair unordered(uint32_t a, uint32_t b) { return {std::min(a, b), std::max(a, b)}; }

int64_t shared_ms(const tracklet& a, const tracklet& b) {
  return std::min(a.exit_ms, b.exit_ms) - std::max(a.enter_ms, b.enter_ms);
}

struct transit_range {
  int64_t lo = 0, hi = 0;
};

} // namespace

offline_resolver::offline_resolver(resolver_config cfg) : cfg_(std::move(cfg)), views_(cfg_.handoff) {}

bool offline_resolver::compatible(const tracklet& a, const tracklet& b, bool overlap) const {
  const int64_t shared = shared_ms(a, b);
  if (a.camera_id == b.camera_id) return shared < 0; // never twice on one camera at once
  if (!overlap && shared > cfg_.touch_ms) return false;
  // Configured walks take at least their min transit (negative: overlap).
  const tracklet& first = a.enter_ms <= b.enter_ms ? a : b;
  const tracklet& second = a.enter_ms <= b.enter_ms ? b : a;
  for (const auto& l : cfg_.links)
    if (l.from == first.camera_id && l.to == second.camera_id && l.min_transit_ms > 0
        && second.enter_ms - first.exit_ms < l.min_transit_ms)
      return false;
  // Views of one source: no faster than walking from where the first was
  // last seen to where the second was first (handed tracklets aside: their
  // boxes are estimates).
  if (!handed_origin(first.track_id) && !handed_origin(second.track_id)
      && views_.out_of_reach(first.camera_id, first.exit_box, first.exit_ms, second.camera_id, second.entry_box,
                             second.enter_ms, cfg_.handoff_speed))
    return false;
  return true;
}

namespace {

// The corrections of `out.person` against the online people (tracklet
// indices by online person id): a whole online person now in another as a
// merge, the rest of the changed tracklets as moves.
void add_corrections(const std::map<uint64_t, std::vector<size_t>>& online, resolution& out) {
  for (const auto& [p, xs] : online) {
    std::set<uint64_t> now;
    for (size_t i : xs) now.insert(out.person[i]);
    if (now.size() == 1 && *now.begin() != p) {
      out.merges.push_back({p, *now.begin()});
      continue;
    }
    for (size_t i : xs)
      if (out.person[i] != p) out.moved.push_back(i);
  }
  std::sort(out.moved.begin(), out.moved.end());
}

} // namespace

resolution offline_resolver::resolve(const std::vector<tracklet>& in, uint64_t next_id) const {
  resolution first = resolve_once(in, next_id);
  if (!cfg_.from_online || (first.merges.empty() && first.moved.empty())) return first;
  // Again from its own result until that no longer changes (at most one
  // round per merge there can be: each round that changes merges groups).
  std::vector<tracklet> cur = in;
  resolution r = first;
  uint64_t next = next_id;
  size_t links = first.links, evicted = first.evicted, moved_ends = first.moved_ends, rechained = first.rechained;
  for (size_t round = 0; round <= in.size(); ++round) {
    for (size_t i = 0; i < cur.size(); ++i) {
      cur[i].person_id = r.person[i];
      next = std::max(next, r.person[i] + 1);
    }
    if (round > 0 && r.merges.empty() && r.moved.empty()) break;
    r = resolve_once(cur, next);
    links += r.links;
    evicted += r.evicted;
    moved_ends += r.moved_ends;
    rechained += r.rechained;
  }
  // The corrections relative to the online people given.
  resolution out;
  out.person = r.person;
  out.people = r.people;
  out.split_out = first.split_out;
  out.links = links;
  out.evicted = evicted;
  out.moved_ends = moved_ends;
  out.rechained = rechained;
  std::map<uint64_t, std::vector<size_t>> online;
  for (size_t i = 0; i < in.size(); ++i) online[in[i].person_id].push_back(i);
  add_corrections(online, out);
  return out;
}

void offline_resolver::link_handovers(const std::vector<tracklet>& in, const std::vector<std::vector<float>>& feat,
                                      const std::function<bool(uint32_t, uint32_t)>& overlap,
                                      std::vector<std::vector<size_t>>& groups, std::vector<int>& group_of,
                                      resolution& out) const {
  const size_t n = in.size();
  struct link {
    double s;
    size_t a, b; // a left, b entered
  };
  std::vector<link> cands;
  std::vector<size_t> by_enter(n);
  std::iota(by_enter.begin(), by_enter.end(), 0);
  std::stable_sort(by_enter.begin(), by_enter.end(),
                   [&](size_t x, size_t y) { return in[x].enter_ms < in[y].enter_ms; });
  std::vector<timestamp_ms> enters(n);
  for (size_t u = 0; u < n; ++u) enters[u] = in[by_enter[u]].enter_ms;
  auto ok = [&](size_t x, size_t y) { return compatible(in[x], in[y], overlap(in[x].camera_id, in[y].camera_id)); };
  // Candidates: b entered another camera within [-touch, link_ms] of a's exit (and not before a entered).
  for (size_t a = 0; a < n; ++a) {
    if (feat[a].empty()) continue;
    const timestamp_ms lo = std::max(in[a].enter_ms, in[a].exit_ms - cfg_.touch_ms);
    auto u = static_cast<size_t>(std::lower_bound(enters.begin(), enters.end(), lo) - enters.begin());
    for (; u < n && enters[u] <= in[a].exit_ms + cfg_.handover_link_ms; ++u) {
      const size_t b = by_enter[u];
      if (b == a || feat[b].empty() || in[b].camera_id == in[a].camera_id) continue;
      if (in[b].enter_ms == in[a].enter_ms && b < a) continue; // each pair once
      if (!ok(a, b)) continue;
      cands.push_back({cosine_similarity(feat[a], feat[b]), a, b});
    }
  }
  // Mutual best: a's best successor is b and b's best predecessor is a (the
  // lower index on ties, for determinism).
  constexpr size_t none = static_cast<size_t>(-1);
  std::vector<size_t> best_next(n, none), best_prev(n, none);
  auto better = [&](size_t k, size_t cur) {
    return cur == none || cands[k].s > cands[cur].s
      || (cands[k].s == cands[cur].s && std::tie(cands[k].a, cands[k].b) < std::tie(cands[cur].a, cands[cur].b));
  };
  for (size_t k = 0; k < cands.size(); ++k) {
    if (better(k, best_next[cands[k].a])) best_next[cands[k].a] = k;
    if (better(k, best_prev[cands[k].b])) best_prev[cands[k].b] = k;
  }
  std::vector<link> links;
  for (size_t k = 0; k < cands.size(); ++k)
    if (best_next[cands[k].a] == k && best_prev[cands[k].b] == k && cands[k].s >= cfg_.handover_link_threshold)
      links.push_back(cands[k]);
  std::stable_sort(links.begin(), links.end(), [](const link& x, const link& y) {
    return x.s != y.s ? x.s > y.s : std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });
  // How strongly a tracklet is held by its group: its best similarity to another member.
  auto attachment = [&](size_t x) {
    double best = -2;
    for (size_t z : groups[static_cast<size_t>(group_of[x])])
      if (z != x && !feat[z].empty() && !feat[x].empty())
        best = std::max<double>(best, cosine_similarity(feat[x], feat[z]));
    return best;
  };
  // How well a tracklet fits its group: its mean similarity to the other
  // members (2 when alone: nothing to leave).
  auto held = [&](size_t x) {
    double sum = 0;
    int k = 0;
    for (size_t z : groups[static_cast<size_t>(group_of[x])])
      if (z != x && !feat[z].empty()) sum += cosine_similarity(feat[x], feat[z]), ++k;
    return k ? sum / k : 2.0;
  };
  auto fits = [&](size_t x, size_t g) {
    return std::all_of(groups[g].begin(), groups[g].end(), [&](size_t z) { return ok(x, z); });
  };
  // Re-chaining: a's group up to a and b's group from b on become one
  // person (the link) and the rest of each group keeps to itself, when
  // neither group holds its two pieces together more strongly than the
  // link (best similarity across the cut over the link's minus
  // rechain_margin) and the joined piece keeps every constraint. An online
  // person that took over another's walk for a while is two chains, which
  // taking out single tracklets (eviction) cannot separate.
  auto rechain_at = [&](size_t a, size_t b, double s) {
    const auto ga = static_cast<size_t>(group_of[a]), gb = static_cast<size_t>(group_of[b]);
    std::vector<size_t> a_head, a_tail, b_head, b_tail;
    for (size_t x : groups[ga]) (in[x].enter_ms <= in[a].enter_ms ? a_head : a_tail).push_back(x);
    for (size_t y : groups[gb]) (y == b || in[y].enter_ms >= in[b].enter_ms ? b_tail : b_head).push_back(y);
    // Only pairs that could be one walk (within rechain_hold_ms of each
    // other) hold two pieces together: a look-alike seen long before says
    // nothing about where the walk went.
    auto holds = [&](const std::vector<size_t>& xs, const std::vector<size_t>& ys) {
      for (size_t x : xs)
        for (size_t y : ys) {
          if (feat[x].empty() || feat[y].empty()) continue;
          const int64_t apart = std::max(in[y].enter_ms - in[x].exit_ms, in[x].enter_ms - in[y].exit_ms);
          if (cfg_.rechain_hold_ms > 0 && apart > cfg_.rechain_hold_ms) continue;
          if (cosine_similarity(feat[x], feat[y]) > s - cfg_.rechain_margin) return true;
        }
      return false;
    };
    if (holds(a_head, a_tail) || holds(b_head, b_tail)) return false;
    for (size_t x : a_head)
      for (size_t y : b_tail)
        if (!ok(x, y)) return false;
    // a_head stays in ga and b_head in gb; only b_tail and a_tail move.
    for (size_t y : b_tail) group_of[y] = static_cast<int>(ga);
    a_head.insert(a_head.end(), b_tail.begin(), b_tail.end());
    groups[ga] = std::move(a_head);
    groups[gb] = std::move(b_head);
    if (!a_tail.empty()) {
      for (size_t x : a_tail) group_of[x] = static_cast<int>(groups.size());
      groups.push_back(std::move(a_tail));
    }
    return true;
  };
  for (const auto& l : links) {
    const auto ga = static_cast<size_t>(group_of[l.a]), gb = static_cast<size_t>(group_of[l.b]);
    if (ga == gb) continue;
    // Each conflicting pair gives up its more weakly held member, never a
    // or b, and only one held more weakly than this link.
    std::set<size_t> evict;
    bool refused = false;
    for (size_t x : groups[ga]) {
      for (size_t y : groups[gb]) {
        if (ok(x, y) || evict.count(x) || evict.count(y)) continue;
        const bool x_free = x != l.a, y_free = y != l.b;
        const double hx = x_free ? attachment(x) : 2, hy = y_free ? attachment(y) : 2;
        const size_t loser = hx <= hy ? x : y;
        if (std::min(hx, hy) >= l.s - cfg_.evict_margin) {
          refused = true;
          break;
        }
        evict.insert(loser);
      }
      if (refused) break;
    }
    if (refused && l.s >= cfg_.rechain_threshold && rechain_at(l.a, l.b, l.s)) {
      out.rechained++;
      continue;
    }
    if (refused) {
      // The two groups cannot be one person. Still, an end of the link may
      // be the wrong one in its group: held by its other members (mean
      // similarity) more weakly than by the link, it moves to the other
      // group when it fits there (the end held more weakly tried first).
      if (l.s < cfg_.move_threshold) continue;
      const double ha = held(l.a), hb = held(l.b);
      const size_t first = ha <= hb ? l.a : l.b, second = ha <= hb ? l.b : l.a;
      for (size_t mover : {first, second}) {
        const size_t into = mover == l.a ? gb : ga;
        if (held(mover) >= l.s || !fits(mover, into)) continue;
        auto& g = groups[static_cast<size_t>(group_of[mover])];
        g.erase(std::find(g.begin(), g.end(), mover));
        group_of[mover] = static_cast<int>(into);
        groups[into].push_back(mover);
        out.moved_ends++;
        break;
      }
      continue;
    }
    for (size_t x : evict) {
      auto& g = groups[static_cast<size_t>(group_of[x])];
      g.erase(std::find(g.begin(), g.end(), x));
      group_of[x] = static_cast<int>(groups.size());
      groups.push_back({x});
      out.evicted++;
    }
    for (size_t x : groups[gb]) group_of[x] = static_cast<int>(ga);
    groups[ga].insert(groups[ga].end(), groups[gb].begin(), groups[gb].end());
    groups[gb].clear();
    out.links++;
  }
}

resolution offline_resolver::resolve_once(const std::vector<tracklet>& in, uint64_t next_id) const {
  const size_t n = in.size();
  resolution out;
  out.person.resize(n);
  if (n == 0) return out;

  std::vector<std::vector<float>> feat(n);
  std::map<uint32_t, image_extent> extents; // from the window's boxes
  for (size_t i = 0; i < n; ++i) {
    feat[i] = dequantise_feature(in[i].feature);
    extents[in[i].camera_id].add(in[i].entry_box);
    extents[in[i].camera_id].add(in[i].exit_box);
  }

  // Online people, each one's tracklets by enter.
  std::map<uint64_t, std::vector<size_t>> online;
  for (size_t i = 0; i < n; ++i) online[in[i].person_id].push_back(i);
  for (auto& [p, xs] : online)
    std::stable_sort(xs.begin(), xs.end(), [&](size_t a, size_t b) { return in[a].enter_ms < in[b].enter_ms; });

  // Overlapping views: configured, or several people online on both at once.
  std::set<cam_pair> overlaps;
  for (const auto& l : cfg_.links)
    if (l.min_transit_ms < 0) overlaps.insert(unordered(l.from, l.to));
  {
    std::map<cam_pair, std::set<uint64_t>> seen_both;
    for (const auto& [p, xs] : online)
      for (size_t a = 0; a < xs.size(); ++a)
        for (size_t b = a + 1; b < xs.size(); ++b) {
          const auto &x = in[xs[a]], &y = in[xs[b]];
          if (x.camera_id != y.camera_id && shared_ms(x, y) >= cfg_.overlap_min_ms)
            seen_both[unordered(x.camera_id, y.camera_id)].insert(p);
        }
    for (const auto& [pair, people] : seen_both)
      if (static_cast<int>(people.size()) >= cfg_.overlap_min_people) overlaps.insert(pair);
  }
  auto overlap = [&](uint32_t a, uint32_t b) { return a != b && overlaps.count(unordered(a, b)) > 0; };

  // Transit times per ordered camera pair: learned from online links, else configured.
  std::map<cam_pair, transit_range> transit;
  {
    std::map<cam_pair, std::vector<int64_t>> gaps;
    for (const auto& [p, xs] : online)
      for (size_t k = 1; k < xs.size(); ++k) {
        const auto &x = in[xs[k - 1]], &y = in[xs[k]];
        if (x.camera_id != y.camera_id) gaps[{x.camera_id, y.camera_id}].push_back(y.enter_ms - x.exit_ms);
      }
    for (const auto& [pair, g] : gaps)
      if (static_cast<int>(g.size()) >= cfg_.transit_min_links) {
        auto [lo, hi] = std::minmax_element(g.begin(), g.end());
        transit[pair] = {*lo - 1000, *hi + 2000};
      }
    for (const auto& l : cfg_.links)
      transit.try_emplace({l.from, l.to}, transit_range{l.min_transit_ms, l.max_transit_ms});
  }

  // 1. Start from the online people; a tracklet that breaks a constraint
  // with the ones kept before it starts a group of its own.
  std::vector<std::vector<size_t>> groups;
  std::vector<int> group_of(n, -1);
  for (const auto& [p, xs] : online) {
    if (!cfg_.from_online) {
      for (size_t i : xs) {
        group_of[i] = static_cast<int>(groups.size());
        groups.push_back({i});
      }
      continue;
    }
    std::vector<size_t> kept;
    for (size_t i : xs) {
      bool ok = std::all_of(kept.begin(), kept.end(), [&](size_t k) {
        return compatible(in[k], in[i], overlap(in[k].camera_id, in[i].camera_id));
      });
      if (ok) {
        kept.push_back(i);
      } else {
        group_of[i] = static_cast<int>(groups.size());
        groups.push_back({i});
        out.split_out++;
      }
    }
    for (size_t i : kept) group_of[i] = static_cast<int>(groups.size());
    groups.push_back(std::move(kept));
  }

  // 2. Handover links: mutual best successors, strongest first.
  if (cfg_.handover_link_ms > 0) link_handovers(in, feat, overlap, groups, group_of, out);

  // 3. Pair scores between groups: appearance plus space-time evidence.
  auto score = [&](size_t i, size_t j) {
    const tracklet& a = in[i].enter_ms <= in[j].enter_ms ? in[i] : in[j];
    const tracklet& b = in[i].enter_ms <= in[j].enter_ms ? in[j] : in[i];
    double s = cosine_similarity(feat[i], feat[j]);
    if (a.person_id == b.person_id) s += cfg_.online_bonus;
    const int64_t gap = b.enter_ms - a.exit_ms;
    if (a.camera_id == b.camera_id) {
      if (gap >= 0 && gap <= cfg_.fragment_ms) {
        const float dx = (b.entry_box.x + b.entry_box.w / 2) - (a.exit_box.x + a.exit_box.w / 2);
        const float dy = (b.entry_box.y + b.entry_box.h) - (a.exit_box.y + a.exit_box.h);
        const float reach = cfg_.fragment_px_per_s * static_cast<float>(gap) / 1000.f + a.exit_box.h;
        if (std::sqrt(dx * dx + dy * dy) <= reach) s += cfg_.fragment_bonus;
      }
      return s;
    }
    bool plausible;
    if (auto t = transit.find({a.camera_id, b.camera_id}); t != transit.end())
      plausible = gap >= t->second.lo && gap <= t->second.hi;
    else
      plausible = gap >= -cfg_.touch_ms && gap <= cfg_.handover_ms;
    if (overlap(a.camera_id, b.camera_id) && shared_ms(a, b) > 0) plausible = true;
    if (plausible && extents[a.camera_id].at_edge(a.exit_box, cfg_.edge_share)
        && extents[b.camera_id].at_edge(b.entry_box, cfg_.edge_share))
      s += cfg_.handover_bonus;
    return s;
  };
  std::vector<size_t> by_enter(n);
  std::iota(by_enter.begin(), by_enter.end(), 0);
  std::stable_sort(by_enter.begin(), by_enter.end(),
                   [&](size_t a, size_t b) { return in[a].enter_ms < in[b].enter_ms; });
  // Each pair once, along enter order: past max_gap after i's exit, every
  // later-entering tracklet is too (enters only grow).
  std::vector<std::map<int, std::pair<double, int>>> adj(groups.size());
  for (size_t u = 0; u < n; ++u) {
    const size_t i = by_enter[u];
    if (feat[i].empty()) continue;
    for (size_t v = u + 1; v < n; ++v) {
      const size_t j = by_enter[v];
      if (in[j].enter_ms - in[i].exit_ms > cfg_.max_gap_ms) break;
      if (feat[j].empty() || group_of[i] == group_of[j]) continue;
      const double s = score(i, j);
      auto& e = adj[static_cast<size_t>(group_of[i])][group_of[j]];
      e.first += s;
      e.second += 1;
      adj[static_cast<size_t>(group_of[j])][group_of[i]] = e;
    }
  }

  // Best-first merging with lazy invalidation (a version per group).
  using item = std::tuple<double, int, int, uint64_t, uint64_t>; // mean, a, b, versions
  auto worse = [](const item& x, const item& y) {
    if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) < std::get<0>(y);
    return std::make_pair(std::get<1>(x), std::get<2>(x)) > std::make_pair(std::get<1>(y), std::get<2>(y));
  };
  std::priority_queue<item, std::vector<item>, decltype(worse)> heap(worse);
  std::vector<uint64_t> version(groups.size(), 0);
  std::vector<bool> alive(groups.size(), true);
  auto push = [&](int a, int b) {
    if (a > b) std::swap(a, b);
    const auto& e = adj[static_cast<size_t>(a)].at(b);
    heap.emplace(e.first / e.second, a, b, version[static_cast<size_t>(a)], version[static_cast<size_t>(b)]);
  };
  for (size_t a = 0; a < groups.size(); ++a)
    for (const auto& [b, e] : adj[a])
      if (static_cast<int>(a) < b) push(static_cast<int>(a), b);
  while (!heap.empty()) {
    auto [mean, a, b, va, vb] = heap.top();
    heap.pop();
    const size_t ua = static_cast<size_t>(a), ub = static_cast<size_t>(b);
    if (!alive[ua] || !alive[ub] || va != version[ua] || vb != version[ub]) continue;
    if (mean < cfg_.link_threshold) break;
    bool ok = true;
    for (size_t x : groups[ua]) {
      for (size_t y : groups[ub])
        if (!compatible(in[x], in[y], overlap(in[x].camera_id, in[y].camera_id))) {
          ok = false;
          break;
        }
      if (!ok) break;
    }
    if (!ok) { // never again for this pair (groups only grow)
      adj[ua].erase(b);
      adj[ub].erase(a);
      continue;
    }
    // b into a.
    groups[ua].insert(groups[ua].end(), groups[ub].begin(), groups[ub].end());
    groups[ub].clear();
    alive[ub] = false;
    version[ua]++;
    adj[ua].erase(b);
    for (const auto& [c, e] : adj[ub]) {
      if (c == a) continue;
      auto& into = adj[ua][c];
      into.first += e.first;
      into.second += e.second;
      adj[static_cast<size_t>(c)].erase(b);
      adj[static_cast<size_t>(c)][a] = into;
    }
    adj[ub].clear();
    for (const auto& [c, e] : adj[ua]) push(a, c);
  }

  // 4. Names: the online id with most tracklets in a group, largest first.
  std::vector<size_t> order;
  for (size_t g = 0; g < groups.size(); ++g)
    if (alive[g] && !groups[g].empty()) order.push_back(g);
  for (auto& g : groups) std::sort(g.begin(), g.end());
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    if (groups[x].size() != groups[y].size()) return groups[x].size() > groups[y].size();
    return groups[x].front() < groups[y].front();
  });
  std::set<uint64_t> taken;
  std::vector<uint64_t> name(groups.size(), 0);
  for (size_t g : order) {
    std::map<uint64_t, size_t> votes;
    for (size_t i : groups[g]) votes[in[i].person_id]++;
    std::vector<std::pair<size_t, uint64_t>> ranked;
    for (const auto& [p, c] : votes) ranked.emplace_back(c, p);
    std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    for (const auto& [c, p] : ranked)
      if (!taken.count(p)) {
        name[g] = p;
        break;
      }
    if (name[g] == 0) name[g] = next_id++;
    taken.insert(name[g]);
    for (size_t i : groups[g]) out.person[i] = name[g];
  }
  out.people = order.size();

  add_corrections(online, out);
  return out;
}

} // namespace weaver
