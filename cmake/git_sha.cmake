# Writes OUTPUT (a .cpp defining gcnn::kGitSha) from the git state of
# SOURCE_DIR: the short SHA of HEAD, "-dirty" when tracked files differ from
# it, "unknown" outside a git checkout or without git. Run at every build by
# the gcnn_git_sha target (CMakeLists.txt); OUTPUT is rewritten only when the
# text changes, so an unchanged SHA rebuilds nothing.
# usage: cmake -DSOURCE_DIR=... -DOUTPUT=... [-DGIT_EXECUTABLE=...] -P git_sha.cmake
set(sha "")
if(GIT_EXECUTABLE)
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
    WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE sha RESULT_VARIABLE rc
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT rc EQUAL 0)
    set(sha "")
  endif()
endif()
if(sha)
  execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
    WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE dirty
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(dirty)
    string(APPEND sha "-dirty")
  endif()
else()
  set(sha "unknown")
endif()
string(CONCAT text "// Generated at build time by cmake/git_sha.cmake: do not edit.\n"
  "namespace gcnn {\nextern const char* const kGitSha;\nconst char* const kGitSha = \"${sha}\";\n}  // namespace gcnn\n")
set(current "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" current)
endif()
if(NOT current STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
