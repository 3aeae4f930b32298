#include "services/model_cli.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "accel/engine/darknet_import.hpp"
#include "accel/engine/executor.hpp"
#include "accel/engine/tfjs_import.hpp"

namespace weaver {

int model_inspect(const inspect_options& o) {
  using namespace engine;
  try {
    if (o.raw) {
      bool darknet = o.model.size() > 4 && o.model.compare(o.model.size() - 4, 4, ".cfg") == 0;
      graph g = darknet ? import_darknet(o.model, o.weights) : import_tfjs(o.model);
      std::cout << describe(g);
      return 0;
    }
    auto m = model::load(o.model, o.weights, o.batch);
    std::cout << describe(m->ir());
    if (o.bench > 0) {
      session s(m, o.threads);
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      std::generate(s.input(), s.input() + numel(m->input_shape()), [&] { return u(rng); });
      s.run();  // warm-up
      std::vector<double> ms;
      for (int i = 0; i < o.bench; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        s.run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::cout << "run: batch " << o.batch << ", " << o.threads << " thread(s), " << o.bench
                << " runs: p50 " << ms[ms.size() / 2] << " ms, min " << ms.front() << " ms, "
                << "per image " << ms[ms.size() / 2] / o.batch << " ms\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace weaver
