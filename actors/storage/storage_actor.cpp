#include "actors/storage/storage_actor.hpp"

#include <chrono>

#include <caf/sec.hpp>

#include "services/log.hpp"
#include "services/metrics.hpp"

namespace weaver {

storage_actor::behavior_type
storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                   std::shared_ptr<sqlite_store> store, run_stats_ptr stats) {
  self->state.store = std::move(store);
  self->state.stats = std::move(stats);
  return {
    [=](presence_batch& pb) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto t0 = std::chrono::steady_clock::now();
      try {
        st.store->write(pb);
      } catch (const std::exception& e) {
        static const logger log{"storage"};
        log.error(e.what());
        metrics::global().storage_errors("write").Increment();
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
      metrics::global().stage_latency("store").Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      metrics::global().rows_written().Increment(static_cast<double>(pb.rows.size()));
      if (st.stats) st.stats->presence_rows += pb.rows.size();
      return caf::ok_atom::value;
    },
    [=](const end_of_stream&) -> caf::ok_atom {
      return caf::ok_atom::value; // every batch before it is committed
    }};
}

} // namespace weaver
