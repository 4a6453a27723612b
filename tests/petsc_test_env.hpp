#pragma once
// One PETSc/SLEPc session for a whole GoogleTest binary (PetscInitialize
// once, after MPI and before the first test; finalised after the last).
#include <gtest/gtest.h>

#include "gcnn/petsc_env.hpp"

namespace gcnn::test {

class PetscEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { session_ = new PetscSession(""); }
  void TearDown() override { delete session_; }

 private:
  PetscSession* session_ = nullptr;
};
[[maybe_unused]] inline auto* const petsc_env = ::testing::AddGlobalTestEnvironment(new PetscEnvironment);

}  // namespace gcnn::test
