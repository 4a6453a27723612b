#include "gcnn/mover_exchange.hpp"

#include <climits>
#include <stdexcept>
#include <string>

namespace gcnn {

int64_t mover_counts_to_mpi(const int64_t* movers, int P, int* counts, int* displs, const char* what) {
  auto fit = [what](int64_t v, const char* field, int p) {
    if (v < 0 || v > INT_MAX)
      throw std::overflow_error(std::string(what) + ": " + field + " for rank " + std::to_string(p) + " is " +
                                std::to_string(v) + " movers, beyond MPI's int counts (2^31 - 1); use more ranks");
    return static_cast<int>(v);
  };
  int64_t total = 0;
  for (int p = 0; p < P; ++p) {
    counts[p] = fit(movers[p], "count", p);
    displs[p] = fit(total, "displacement", p);
    total += movers[p];
  }
  return total;
}

MoverExchange::MoverExchange(const Ensemble& e) : comm_(e.comm().raw()), P_(e.comm().size()), me_(e.comm().rank()) {
  const int64_t M = e.config().M;
  if (static_cast<double>(M + 1) * P_ >= 0x1p53)
    throw std::runtime_error("exchange sweep: M * ranks must be below 2^53");
  for (int p = 0; p < P_; ++p)
    if (e.network_blocks().lo(p) != (static_cast<__int128>(M) * p) / P_)
      throw std::logic_error("exchange sweep: network blocks are not lo(d) = floor(d M / P)");
  for (auto* v : {&send_movers_, &recv_movers_}) v->assign(P_, 0);
  for (auto* v : {&send_counts_, &recv_counts_, &send_displs_, &recv_displs_}) v->assign(P_, 0);
}

MoverExchange::~MoverExchange() = default;

double MoverExchange::scratch_bytes() const {
  return static_cast<double>((send_.capacity() + recv_.capacity()) * sizeof(int64_t));
}

void MoverExchange::prepare_send(const int64_t* count) {
  for (int p = 0; p < P_; ++p) send_movers_[p] = p == me_ ? 0 : count[p];
  sent_ = mover_counts_to_mpi(send_movers_.data(), P_, send_counts_.data(), send_displs_.data(),
                              "exchange sweep: movers sent");
  send_.resize(static_cast<size_t>(sent_));
}

void MoverExchange::start() {
  mpi_check(MPI_Alltoall(send_movers_.data(), 1, MPI_INT64_T, recv_movers_.data(), 1, MPI_INT64_T, comm_),
            "MPI_Alltoall(exchange counts)");
  const int64_t nr = mover_counts_to_mpi(recv_movers_.data(), P_, recv_counts_.data(), recv_displs_.data(),
                                         "exchange sweep: movers received");
  recv_.resize(static_cast<size_t>(nr));
  mpi_check(MPI_Ialltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_INT64_T, recv_.data(),
                           recv_counts_.data(), recv_displs_.data(), MPI_INT64_T, comm_, &pending_),
            "MPI_Ialltoallv(exchange movers)");
}

void MoverExchange::progress() {
  if (pending_ == MPI_REQUEST_NULL) return;
  int done = 0;
  mpi_check(MPI_Test(&pending_, &done, MPI_STATUS_IGNORE), "MPI_Test(exchange movers)");
}

void MoverExchange::finish() { mpi_check(MPI_Wait(&pending_, MPI_STATUS_IGNORE), "MPI_Wait(exchange movers)"); }

}  // namespace gcnn
