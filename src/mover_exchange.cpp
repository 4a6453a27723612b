#include "gcnn/mover_exchange.hpp"

#include <stdexcept>

namespace gcnn {

MoverExchange::MoverExchange(const Ensemble& e) : comm_(e.comm().raw()), P_(e.comm().size()), me_(e.comm().rank()) {
  const int64_t M = e.config().M;
  if (static_cast<double>(M + 1) * P_ >= 0x1p53)
    throw std::runtime_error("exchange sweep: M * ranks must be below 2^53");
  for (int p = 0; p < P_; ++p)
    if (e.network_blocks().lo(p) != (static_cast<__int128>(M) * p) / P_)
      throw std::logic_error("exchange sweep: network blocks are not lo(d) = floor(d M / P)");
  for (auto* v : {&send_counts_, &recv_counts_, &send_displs_, &recv_displs_}) v->assign(P_, 0);
}

MoverExchange::~MoverExchange() = default;

double MoverExchange::scratch_bytes() const {
  return static_cast<double>((send_.capacity() + recv_.capacity()) * sizeof(Mover));
}

void MoverExchange::prepare_send(const int64_t* count) {
  int ns = 0;
  for (int p = 0; p < P_; ++p) {
    send_counts_[p] = p == me_ ? 0 : static_cast<int>(count[p]);
    send_displs_[p] = ns;
    ns += send_counts_[p];
  }
  send_.resize(static_cast<size_t>(ns));
  sent_ = ns;
}

void MoverExchange::start() {
  mpi_check(MPI_Alltoall(send_counts_.data(), 1, MPI_INT, recv_counts_.data(), 1, MPI_INT, comm_),
            "MPI_Alltoall(exchange counts)");
  int nr = 0;
  for (int p = 0; p < P_; ++p) { recv_displs_[p] = nr; nr += recv_counts_[p]; }
  recv_.resize(static_cast<size_t>(nr));
  static_assert(sizeof(Mover) % 8 == 0);
  const int sz = static_cast<int>(sizeof(Mover));
  for (int p = 0; p < P_; ++p) {
    send_counts_[p] *= sz;
    recv_counts_[p] *= sz;
    send_displs_[p] *= sz;
    recv_displs_[p] *= sz;
  }
  mpi_check(MPI_Ialltoallv(send_.data(), send_counts_.data(), send_displs_.data(), MPI_BYTE, recv_.data(),
                           recv_counts_.data(), recv_displs_.data(), MPI_BYTE, comm_, &pending_),
            "MPI_Ialltoallv(exchange movers)");
}

void MoverExchange::progress() {
  if (pending_ == MPI_REQUEST_NULL) return;
  int done = 0;
  mpi_check(MPI_Test(&pending_, &done, MPI_STATUS_IGNORE), "MPI_Test(exchange movers)");
}

void MoverExchange::finish() { mpi_check(MPI_Wait(&pending_, MPI_STATUS_IGNORE), "MPI_Wait(exchange movers)"); }

}  // namespace gcnn
