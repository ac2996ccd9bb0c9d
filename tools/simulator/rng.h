#pragma once

// Deterministic random numbers for the simulator: the same seed gives the
// same numbers on every platform and standard library (std::*_distribution
// are implementation-defined), so a seed names one exact history.

#include <cmath>
#include <cstdint>
#include <span>

namespace blotter::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // splitmix64: small, fast, and good enough for a workload.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() {
    // Box-Muller; one of the pair is enough here.
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  // Poisson: by multiplication for small means, normal approximation above.
  uint64_t Poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean > 60) {
      const double x = std::round(mean + std::sqrt(mean) * Normal());
      return x < 0 ? 0 : static_cast<uint64_t>(x);
    }
    const double limit = std::exp(-mean);
    uint64_t k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  // An index drawn with the given cumulative weights (ascending, last = total).
  size_t Pick(std::span<const double> cumulative) {
    const double x = Uniform() * cumulative.back();
    size_t lo = 0, hi = cumulative.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (cumulative[mid] > x) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }
  // A seed for an independent stream (a day, a series).
  uint64_t Fork(uint64_t salt) {
    Rng r(state_ ^ (salt * 0xd1b54a32d192ed03ULL));
    return r.Next();
  }

 private:
  uint64_t state_;
};

}  // namespace blotter::sim
