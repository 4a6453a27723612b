#include "gcnn/petsc_env.hpp"

namespace gcnn {

void petsc_check(PetscErrorCode ierr, const char* what) {
  if (ierr == 0) return;
  const char* text = nullptr;
  PetscErrorMessage(ierr, &text, nullptr);
  throw std::runtime_error(std::string("PETSc: ") + what + " failed: " + (text ? text : "unknown error"));
}

PetscSession::PetscSession(const std::string& options) {
  GCNN_PETSC(SlepcInitializeNoArguments());
  // Errors come back as codes, which we turn into exceptions with context.
  GCNN_PETSC(PetscPushErrorHandler(PetscReturnErrorHandler, nullptr));
  if (!options.empty()) GCNN_PETSC(PetscOptionsInsertString(nullptr, options.c_str()));
}

PetscSession::~PetscSession() { SlepcFinalize(); }

}  // namespace gcnn
