// `weaver query`: a command-line client of the REST gateway
// (services/gateway), over the same route table.
//
//   weaver query transitions from=1 to=2 t0=2026-11-21 --url http://127.0.0.1:8080
//   weaver query trajectory person=7 --all-pages
//   weaver query alerts --max-events 1      (the Server-Sent Events stream)
//   weaver query --list [--json]            (the routes and their parameters)
//
// The token comes from --token, else $WEAVER_TOKEN; the URL from --url, else
// $WEAVER_URL, else http://127.0.0.1:8080. With --db LOCATION (a SQLite file
// or a postgresql:// URL) no gateway is needed: the same checks and the same
// query code answer from the store directly. Prints the answer's JSON; exit
// code 0, 1 when the gateway or store refused or failed (its error message
// on stderr, with the HTTP status) or cannot be reached, 2 on a usage error.
#pragma once

#include <string>
#include <vector>

namespace weaver {

struct query_options {
  std::string name; // query name (transitions), path (every-camera) or "alerts"
  std::vector<std::string> args; // key=value
  std::string url; // "" = $WEAVER_URL or http://127.0.0.1:8080
  std::string token; // "" = $WEAVER_TOKEN
  std::string db; // answer from this store instead of a gateway
  bool all_pages = false; // follow next_offset; list fields concatenated
  bool list = false; // print the routes instead
  bool json = false; // --list as JSON
  bool compact = false; // one-line JSON
  int timeout_s = 60;
  int max_events = 0; // alerts: stop after N events (0 = until interrupted)
};

int query_command(const query_options& o);

} // namespace weaver
