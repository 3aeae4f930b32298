#include "actors/detector/detector_actor.hpp"

#include "actors/sent_bytes.hpp"
#include "base/errors.hpp"
#include "base/metrics.hpp"

namespace weaver {

namespace {

using self_ptr = detector_actor::stateful_pointer<detector_state>;

detector_state::camera_slot& slot_of(self_ptr self, uint32_t camera) {
  auto& st = self->state;
  auto it = st.cameras.find(camera);
  if (it == st.cameras.end()) it = st.cameras.emplace(camera, detector_state::camera_slot{}).first;
  return it->second;
}

// An engine prepared ahead for the camera, else a new one.
std::shared_ptr<detector> new_engine(self_ptr self, uint32_t camera) {
  auto& prepared = self->state.settings.prepared;
  if (auto it = prepared.find(camera); it != prepared.end() && !it->second.empty()) {
    auto e = std::move(it->second.back());
    it->second.pop_back();
    return e;
  }
  return make_detector(self->state.settings.kind, self->state.settings.options);
}

// A free engine of the camera, made on first need, marked busy.
size_t take_engine(self_ptr self, detector_state::camera_slot& s, uint32_t camera) {
  // A stateful detector has one engine; run() is only called when it is free.
  const bool one = !s.engines.empty() && s.engines[0]->stateful();
  for (size_t k = 0; k < s.engines.size(); ++k)
    if (!s.engine_busy[k] || one) {
      s.engine_busy[k] = true;
      return k;
    }
  s.engines.push_back(new_engine(self, camera));
  s.engine_busy.push_back(true);
  return s.engines.size() - 1;
}

void release(self_ptr self, uint32_t camera);

// Passes finished frames on in admission order; a dropped or failed frame
// only frees its slot.
void flush(self_ptr self, uint32_t camera) {
  auto& st = self->state;
  auto& s = slot_of(self, camera);
  while (!s.order.empty()) {
    auto it = s.ready.find(s.order.front());
    if (it == s.ready.end()) return;
    auto result = std::move(it->second);
    s.ready.erase(it);
    s.order.pop_front();
    if (!result) {
      release(self, camera);
      continue;
    }
    auto& b = *result;
    if (st.settings.compact) compact::compact_for_link(b, *st.settings.compact);
    if (st.settings.log) st.settings.log->write(b);
    count_sent(st.stats, "detector->tracker", b); // what crosses the edge: no pixels
    self->request(st.tracker, caf::infinite, std::move(b))
      .then([self, camera](caf::ok_atom) { release(self, camera); },
            [self, camera](caf::error&) {
              // The tracker is gone or failed: count and carry on.
              metrics::global().frames_dropped(camera, "tracker_error").Increment();
              if (self->state.stats) self->state.stats->frames_dropped++;
              release(self, camera);
            });
  }
}

void admit(self_ptr self, frame_ptr f);

// Releases a frame's slot; admits a waiting frame or finishes end of stream.
void release(self_ptr self, uint32_t camera) {
  auto& st = self->state;
  auto& s = slot_of(self, camera);
  s.in_flight--;
  metrics::global().queue_depth(camera).Set(s.in_flight);
  if (!s.waiting.empty()) {
    auto [f, rp] = std::move(s.waiting.front());
    s.waiting.pop_front();
    admit(self, f);
    rp.deliver(caf::ok_atom::value);
    return;
  }
  if (s.eos && s.in_flight == 0) {
    s.eos = false;
    auto rp = s.eos_rp;
    self->request(st.tracker, caf::infinite, s.eos_msg)
      .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  }
}

void run(self_ptr self, frame_ptr f, int64_t admitted);

void admit(self_ptr self, frame_ptr f) {
  auto camera = f->camera_id;
  auto& s = slot_of(self, camera);
  s.in_flight++;
  s.order.push_back(f->seq);
  metrics::global().queue_depth(camera).Set(s.in_flight);
  // A stateful detector (motion) learns from every frame in order: its one
  // engine takes the next frame only when the last is back, whatever the
  // pool would allow.
  if (!s.engines.empty() && s.engines[0]->stateful() && s.engine_busy[0]) {
    s.held.emplace_back(std::move(f), steady_now_ns());
    return;
  }
  run(self, std::move(f), steady_now_ns());
}

// Sends an admitted frame to the pool on a free engine of its camera.
void run(self_ptr self, frame_ptr f, int64_t admitted) {
  auto& st = self->state;
  auto camera = f->camera_id;
  auto seq = f->seq;
  auto& s = slot_of(self, camera);
  auto k = take_engine(self, s, camera);
  inference_job job{f, s.engines[k], admitted};
  auto t0 = job.admitted_ns;
  // The size of the view the boxes are in, for the tracker (tracklet
  // repair's border rule: who left the view is not joined to a newcomer).
  const int width = f->image.cols, height = f->image.rows;
  auto done = [self, camera, seq, k](std::optional<detection_batch> b) {
    auto& s = slot_of(self, camera);
    s.engine_busy[k] = false;
    s.ready.emplace(seq, std::move(b));
    // The held frame first: flush may admit a waiting one behind it.
    if (!s.held.empty()) {
      auto [next, at] = std::move(s.held.front());
      s.held.pop_front();
      run(self, std::move(next), at);
    }
    flush(self, camera);
  };
  self->request(st.pool, caf::infinite, std::move(job))
    .then(
      [self, camera, t0, done, width, height](detection_batch& b) {
        auto& st = self->state;
        if (b.width <= 0 || b.height <= 0) {
          b.width = width;
          b.height = height;
        }
        auto n = b.detections.size();
        metrics::global().detections(camera).Increment(static_cast<double>(n));
        metrics::global().stage_latency("admit_to_detections").Observe((steady_now_ns() - t0) / 1e9);
        if (st.stats) st.stats->detections += n;
        done(std::move(b));
      },
      [self, camera, done](caf::error& e) {
        // frame_dropped: the pool dropped the frame and counted why.
        if (e != errc::frame_dropped) {
          metrics::global().frames_dropped(camera, "card_error").Increment();
          if (self->state.stats) self->state.stats->frames_dropped++;
        }
        done(std::nullopt);
      });
}

} // namespace

detector_actor::behavior_type detector_actor_impl(detector_actor::stateful_pointer<detector_state> self,
                                                  detector_settings settings, fpga_pool_actor pool,
                                                  tracker_actor tracker, run_stats_ptr stats) {
  self->state.settings = std::move(settings);
  self->state.pool = std::move(pool);
  self->state.tracker = std::move(tracker);
  self->state.stats = std::move(stats);
  return {[=](frame_ptr& f) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            auto& s = slot_of(self, f->camera_id);
            if (s.in_flight < st.settings.queue) {
              admit(self, std::move(f));
              rp.deliver(caf::ok_atom::value);
            } else if (st.settings.realtime) {
              // Real time: a frame that cannot be taken now is stale by the time it
              // could be; drop it, counted, rather than fall further behind.
              metrics::global().frames_dropped(f->camera_id, "queue_full").Increment();
              if (st.stats) st.stats->frames_dropped++;
              rp.deliver(caf::ok_atom::value);
            } else {
              s.waiting.emplace_back(std::move(f), rp);
            }
            return rp;
          },
          [=](end_of_stream& eos) -> caf::typed_response_promise<caf::ok_atom> {
            auto& st = self->state;
            auto rp = self->make_response_promise<caf::ok_atom>();
            auto& s = slot_of(self, eos.camera_id);
            if (s.in_flight == 0 && s.waiting.empty()) {
              self->request(st.tracker, caf::infinite, eos)
                .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
                      [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
            } else {
              s.eos = true;
              s.eos_msg = eos;
              s.eos_rp = rp;
            }
            return rp;
          }};
}

} // namespace weaver
