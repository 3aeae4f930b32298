#include "actors/tracker/zone_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace weaver {

namespace {

using json = nlohmann::json;

struct bad_shape {
  std::string message;
};

[[noreturn]] void fail(const std::string& where, const std::string& why) { throw bad_shape{where + ": " + why}; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

point2 point_of(const json& j, const std::string& where, int width, int height) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number())
    fail(where, "expected a point [x, y] of two numbers");
  double x = j[0].get<double>(), y = j[1].get<double>();
  if (!std::isfinite(x) || !std::isfinite(y)) fail(where, "expected finite numbers");
  if (x < 0 || x > width || y < 0 || y > height)
    fail(where,
         "[" + num(x) + ", " + num(y) + "] is outside the frame (0..." + std::to_string(width) + " x 0..."
           + std::to_string(height) + ")");
  return {static_cast<float>(x), static_cast<float>(y)};
}

const json& list_of(const json& body, const char* key, size_t most, const char* what) {
  static const json none = json::array();
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return none;
  if (!it->is_array()) fail(key, std::string("expected a list of ") + what);
  if (it->size() > most) fail(key, std::to_string(it->size()) + " given, at most " + std::to_string(most));
  return *it;
}

void only_keys(const json& j, const std::string& where, std::initializer_list<const char*> keys) {
  for (const auto& item : j.items()) {
    const std::string& k = item.key(); // (a structured binding cannot be captured before C++20)
    if (std::none_of(keys.begin(), keys.end(), [&](const char* known) { return k == known; })) {
      std::string list;
      for (auto* known : keys) list += (list.empty() ? "" : ", ") + std::string(known);
      fail(where.empty() ? k : where + "." + k, "unknown key (known: " + list + ")");
    }
  }
}

std::string name_of(const json& j, const std::string& where, size_t max_name, std::set<std::string>& seen) {
  auto it = j.find("name");
  if (it == j.end() || !it->is_string()) fail(where + ".name", "required: a string");
  auto name = it->get<std::string>();
  if (!valid_zone_name(name, max_name))
    fail(where + ".name",
         "'" + name + "' is not a name: 1 to " + std::to_string(max_name)
           + " letters, digits, spaces, '_', '.' or '-', no space at either end");
  if (!seen.insert(name).second) fail(where + ".name", "'" + name + "' is used twice (zones and lines share names)");
  return name;
}

double cross(point2 o, point2 a, point2 b) {
  return (static_cast<double>(a.x) - o.x) * (static_cast<double>(b.y) - o.y)
    - (static_cast<double>(a.y) - o.y) * (static_cast<double>(b.x) - o.x);
}

bool on_segment(point2 a, point2 b, point2 p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) && std::min(a.y, b.y) <= p.y
    && p.y <= std::max(a.y, b.y);
}

// Closed segments a-b and c-d share a point.
bool segments_meet(point2 a, point2 b, point2 c, point2 d) {
  double d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 == 0 && on_segment(c, d, a)) || (d2 == 0 && on_segment(c, d, b)) || (d3 == 0 && on_segment(a, b, c))
    || (d4 == 0 && on_segment(a, b, d));
}

// A simple polygon with an area: the even-odd test of a crossing or
// folded polygon counts places no one drew.
void check_polygon(const std::vector<point2>& p, const std::string& where) {
  const size_t n = p.size();
  for (size_t i = 0; i < n; ++i) {
    const auto &a = p[i], &b = p[(i + 1) % n];
    if (a.x == b.x && a.y == b.y)
      fail(where, "points " + std::to_string(i) + " and " + std::to_string((i + 1) % n) + " are the same");
  }
  double area2 = 0;
  for (size_t i = 0; i < n; ++i) area2 += cross({0, 0}, p[i], p[(i + 1) % n]);
  if (std::abs(area2) < 2.0) fail(where, "has no area (its points are on one line)");
  for (size_t i = 0; i < n; ++i) {
    // Edge i runs from point i to point i + 1; the next edge folding back
    // along it meets it in more than their shared point.
    const auto &a = p[i], &v = p[(i + 1) % n], &b = p[(i + 2) % n];
    double dot = (static_cast<double>(a.x) - v.x) * (static_cast<double>(b.x) - v.x)
      + (static_cast<double>(a.y) - v.y) * (static_cast<double>(b.y) - v.y);
    if (n > 3 && cross(v, a, b) == 0 && dot > 0)
      fail(where, "edges " + std::to_string(i) + " and " + std::to_string((i + 1) % n) + " fold onto each other");
    for (size_t j = i + 2; j < n; ++j) {
      if (i == 0 && j == n - 1) continue; // adjacent through point 0
      if (segments_meet(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n]))
        fail(where, "edges " + std::to_string(i) + " and " + std::to_string(j) + " cross (draw it without crossing)");
    }
  }
}

} // namespace

bool valid_zone_name(const std::string& name, size_t max_name) {
  if (name.empty() || name.size() > max_name || name.front() == ' ' || name.back() == ' ') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_'
      || c == '.' || c == '-';
  });
}

parsed_zone_shapes parse_zone_shapes(const json& body, int width, int height, const zone_limits& limits) {
  parsed_zone_shapes out;
  try {
    if (width <= 0 || height <= 0) fail("frame", "the camera's size is not known");
    if (!body.is_object()) fail("body", "expected an object {\"zones\": [...], \"lines\": [...]}");
    only_keys(body, "", {"zones", "lines"});
    std::set<std::string> names;
    const auto& zones = list_of(body, "zones", limits.max_zones, "{name, polygon}");
    for (size_t k = 0; k < zones.size(); ++k) {
      const std::string where = "zones[" + std::to_string(k) + "]";
      const auto& z = zones[k];
      if (!z.is_object()) fail(where, "expected {name, polygon}");
      only_keys(z, where, {"name", "polygon"});
      zone_def d;
      d.name = name_of(z, where, limits.max_name, names);
      auto poly = z.find("polygon");
      if (poly == z.end() || !poly->is_array()) fail(where + ".polygon", "required: a list of points [x, y]");
      if (poly->size() < 3 || poly->size() > limits.max_points)
        fail(where + ".polygon",
             std::to_string(poly->size()) + " points: a zone takes 3 to " + std::to_string(limits.max_points));
      for (size_t i = 0; i < poly->size(); ++i)
        d.polygon.push_back(point_of((*poly)[i], where + ".polygon[" + std::to_string(i) + "]", width, height));
      check_polygon(d.polygon, where + ".polygon");
      out.shapes.zones.push_back(std::move(d));
    }
    const auto& lines = list_of(body, "lines", limits.max_lines, "{name, from, to}");
    for (size_t k = 0; k < lines.size(); ++k) {
      const std::string where = "lines[" + std::to_string(k) + "]";
      const auto& l = lines[k];
      if (!l.is_object()) fail(where, "expected {name, from, to}");
      only_keys(l, where, {"name", "from", "to"});
      line_def d;
      d.name = name_of(l, where, limits.max_name, names);
      for (const char* end : {"from", "to"})
        if (!l.contains(end)) fail(where + "." + end, "required: a point [x, y]");
      d.a = point_of(l["from"], where + ".from", width, height);
      d.b = point_of(l["to"], where + ".to", width, height);
      if (d.a.x == d.b.x && d.a.y == d.b.y) fail(where, "from and to are the same point");
      out.shapes.lines.push_back(std::move(d));
    }
  } catch (const bad_shape& e) {
    out.shapes = {};
    out.error = e.message;
  }
  return out;
}

json zone_shapes_json(const zone_shapes& s) {
  auto pt = [](const point2& p) { return json::array({p.x, p.y}); };
  json zones = json::array(), lines = json::array();
  for (auto& z : s.zones) {
    json poly = json::array();
    for (auto& p : z.polygon) poly.push_back(pt(p));
    zones.push_back({{"name", z.name}, {"polygon", std::move(poly)}});
  }
  for (auto& l : s.lines) lines.push_back({{"name", l.name}, {"from", pt(l.a)}, {"to", pt(l.b)}});
  return {{"zones", std::move(zones)}, {"lines", std::move(lines)}};
}

} // namespace weaver
