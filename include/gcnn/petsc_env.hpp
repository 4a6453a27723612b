#pragma once
// Thin RAII layer over PETSc/SLEPc: one session per process (initialised on
// the existing MPI), user options from one string into the options database,
// and every error code checked.
#include <petscdmda.h>
#include <petscksp.h>
#include <slepceps.h>

#include <stdexcept>
#include <string>

namespace gcnn {

void petsc_check(PetscErrorCode ierr, const char* what);
#define GCNN_PETSC(call) ::gcnn::petsc_check((call), #call)

class PetscSession {
 public:
  explicit PetscSession(const std::string& options);  // e.g. "-ksp_type gmres"
  ~PetscSession();
  PetscSession(const PetscSession&) = delete;
  PetscSession& operator=(const PetscSession&) = delete;
};

// Owning handles: PetscObject with the right destroy function.
template <class T, PetscErrorCode (*Destroy)(T*)>
class PetscHandle {
 public:
  PetscHandle() = default;
  ~PetscHandle() { if (obj_) Destroy(&obj_); }
  PetscHandle(const PetscHandle&) = delete;
  PetscHandle& operator=(const PetscHandle&) = delete;
  T* out() { return &obj_; }
  operator T() const { return obj_; }
  T get() const { return obj_; }

 private:
  T obj_ = nullptr;
};
using PDM = PetscHandle<DM, DMDestroy>;
using PMat = PetscHandle<Mat, MatDestroy>;
using PVec = PetscHandle<Vec, VecDestroy>;
using PKSP = PetscHandle<KSP, KSPDestroy>;
using PEPS = PetscHandle<EPS, EPSDestroy>;
using PScatter = PetscHandle<VecScatter, VecScatterDestroy>;

}  // namespace gcnn
