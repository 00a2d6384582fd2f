# What libmrnet links against, as imported targets under fixed names. Both the
# build (CMakeLists.txt) and installed consumers (mrnetConfig.cmake) include
# this file: the exported static library names these targets in its link
# interface, so the two sides must define them the same way.
#
#   mrnet_dep::blas  OpenBLAS, its OpenMP build when installed
#   PkgConfig::mrnet_dep_{cjson,sndfile,soxr,fftw3f,zlib,sqlite3,xxhash,microhttpd}
#   mrnet_dep::csv   libcsv (no pkg-config file)
#   mrnet_dep::svm   libsvm (no pkg-config file; Debian's libsvm-dev: <libsvm/svm.h>, -lsvm)
#   OpenMP::OpenMP_C, Threads::Threads
#
# In a package config a missing dependency makes find_package(mrnet) fail with
# the reason (mrnet_FOUND false) rather than stop the consumer's configure.

if(CMAKE_FIND_PACKAGE_NAME STREQUAL "mrnet")
  include(CMakeFindDependencyMacro)
  macro(_mrnet_dep_missing what)
    set(mrnet_FOUND FALSE)
    set(mrnet_NOT_FOUND_MESSAGE "mrnet needs ${what}")
    return()
  endmacro()
  # find_dependency forwards QUIET/REQUIRED and returns from the config on failure.
  macro(_mrnet_dep_package)
    find_dependency(${ARGN})
  endmacro()
else()
  macro(_mrnet_dep_missing what)
    message(FATAL_ERROR "mrnet needs ${what}")
  endmacro()
  macro(_mrnet_dep_package)
    find_package(${ARGN} REQUIRED)
  endmacro()
endif()

_mrnet_dep_package(OpenMP COMPONENTS C)
if(DEFINED mrnet_FOUND AND NOT mrnet_FOUND)
  return()
endif()
_mrnet_dep_package(Threads)
if(DEFINED mrnet_FOUND AND NOT mrnet_FOUND)
  return()
endif()
_mrnet_dep_package(PkgConfig)
if(DEFINED mrnet_FOUND AND NOT mrnet_FOUND)
  return()
endif()

foreach(_mrnet_dep cjson:libcjson sndfile:sndfile soxr:soxr fftw3f:fftw3f openblas:openblas zlib:zlib
                  sqlite3:sqlite3 xxhash:libxxhash microhttpd:libmicrohttpd)
  string(REPLACE ":" ";" _mrnet_dep "${_mrnet_dep}")
  list(GET _mrnet_dep 0 _mrnet_dep_name)
  list(GET _mrnet_dep 1 _mrnet_dep_module)
  if(NOT TARGET PkgConfig::mrnet_dep_${_mrnet_dep_name})
    pkg_check_modules(mrnet_dep_${_mrnet_dep_name} QUIET IMPORTED_TARGET ${_mrnet_dep_module})
    if(NOT mrnet_dep_${_mrnet_dep_name}_FOUND)
      _mrnet_dep_missing("${_mrnet_dep_module} (pkg-config)")
    endif()
  endif()
endforeach()

if(NOT TARGET mrnet_dep::blas)
  # OpenBLAS built on OpenMP shares our OpenMP thread pool; the default pthread
  # build would run its own threads against ours (oversubscription, spinning).
  if(NOT MRNET_NO_OPENMP_BLAS)
    find_library(MRNET_OPENBLAS_OPENMP_LIBRARY openblas
                 PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
  endif()
  add_library(mrnet_dep::blas INTERFACE IMPORTED)
  if(MRNET_NO_OPENMP_BLAS)
    # (the TSan build) OpenBLAS's pthread build: pkg-config's openblas.pc may
    # name the OpenMP one, whose libgomp would meet clang's libomp
    find_library(MRNET_OPENBLAS_PTHREAD_LIBRARY NAMES openblas libopenblas.so.0
                 PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread NO_DEFAULT_PATH)
  endif()
  if(MRNET_NO_OPENMP_BLAS AND MRNET_OPENBLAS_PTHREAD_LIBRARY)
    set(MRNET_BLAS_DIR "")
    set_target_properties(mrnet_dep::blas PROPERTIES
      INTERFACE_LINK_LIBRARIES "${MRNET_OPENBLAS_PTHREAD_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${mrnet_dep_openblas_INCLUDE_DIRS}")
  elseif(MRNET_OPENBLAS_OPENMP_LIBRARY AND NOT MRNET_NO_OPENMP_BLAS)
    get_filename_component(MRNET_BLAS_DIR ${MRNET_OPENBLAS_OPENMP_LIBRARY} DIRECTORY)
    set_target_properties(mrnet_dep::blas PROPERTIES
      INTERFACE_LINK_LIBRARIES "${MRNET_OPENBLAS_OPENMP_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${mrnet_dep_openblas_INCLUDE_DIRS}")
  else()
    set(MRNET_BLAS_DIR "")
    set_target_properties(mrnet_dep::blas PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::mrnet_dep_openblas)
  endif()
endif()

if(NOT TARGET mrnet_dep::csv)
  find_library(MRNET_CSV_LIBRARY csv)
  if(NOT MRNET_CSV_LIBRARY)
    _mrnet_dep_missing("libcsv")
  endif()
  add_library(mrnet_dep::csv INTERFACE IMPORTED)
  set_target_properties(mrnet_dep::csv PROPERTIES INTERFACE_LINK_LIBRARIES "${MRNET_CSV_LIBRARY}")
endif()

if(NOT TARGET mrnet_dep::svm)
  # The baseline room (src/baseline/) trains its RBF-SVM with libsvm. Found as
  # <libsvm/svm.h>, the path Debian and Fedora install it under.
  find_path(MRNET_SVM_INCLUDE_DIR libsvm/svm.h)
  find_library(MRNET_SVM_LIBRARY svm)
  if(NOT MRNET_SVM_INCLUDE_DIR OR NOT MRNET_SVM_LIBRARY)
    _mrnet_dep_missing("libsvm (Debian: libsvm-dev)")
  endif()
  file(STRINGS ${MRNET_SVM_INCLUDE_DIR}/libsvm/svm.h _mrnet_svm_version REGEX "^#define LIBSVM_VERSION ")
  if(NOT _mrnet_svm_version MATCHES "LIBSVM_VERSION +([0-9]+)" OR CMAKE_MATCH_1 LESS 300)
    _mrnet_dep_missing("libsvm 3.0 or newer (${MRNET_SVM_INCLUDE_DIR}/libsvm/svm.h: '${_mrnet_svm_version}')")
  endif()
  add_library(mrnet_dep::svm INTERFACE IMPORTED)
  set_target_properties(mrnet_dep::svm PROPERTIES INTERFACE_LINK_LIBRARIES "${MRNET_SVM_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${MRNET_SVM_INCLUDE_DIR}")
endif()

# Optional: FFmpeg, for m4a/AAC/ALAC and what else libsndfile cannot read.
# The build decides MRNET_WITH_FFMPEG (option MRNET_FFMPEG) and records it in
# the package config, so that a static consumer links what libmrnet.a calls.
if(MRNET_WITH_FFMPEG AND NOT TARGET PkgConfig::mrnet_dep_ffmpeg)
  pkg_check_modules(mrnet_dep_ffmpeg QUIET IMPORTED_TARGET libavformat libavcodec libavutil libswresample)
  if(NOT mrnet_dep_ffmpeg_FOUND)
    _mrnet_dep_missing("FFmpeg's libraries (Debian: libavformat-dev libavcodec-dev libavutil-dev libswresample-dev)")
  endif()
endif()

# Optional: MPI (Open MPI's mpi-c), for runs over several processes.
if(MRNET_WITH_MPI AND NOT TARGET PkgConfig::mrnet_dep_mpi)
  pkg_check_modules(mrnet_dep_mpi QUIET IMPORTED_TARGET mpi-c)
  if(NOT mrnet_dep_mpi_FOUND)
    _mrnet_dep_missing("MPI (Debian: libopenmpi-dev)")
  endif()
endif()

# Everything a static link of libmrnet needs, in link order.
set(MRNET_DEPENDENCIES mrnet_dep::blas PkgConfig::mrnet_dep_cjson PkgConfig::mrnet_dep_sndfile
    PkgConfig::mrnet_dep_soxr PkgConfig::mrnet_dep_fftw3f PkgConfig::mrnet_dep_zlib PkgConfig::mrnet_dep_sqlite3
    PkgConfig::mrnet_dep_xxhash PkgConfig::mrnet_dep_microhttpd mrnet_dep::csv
    mrnet_dep::svm
    OpenMP::OpenMP_C Threads::Threads m)
# glibc's vector math (libmvec, part of libc6-dev): GCC calls it for expf in
# vectorised loops on x86-64; clang does not.
# A static libmrnet built by GCC needs it whatever compiler links it.
set(MRNET_WITH_MVEC OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  find_library(MRNET_MVEC_LIBRARY mvec)
  if(MRNET_MVEC_LIBRARY)
    list(APPEND MRNET_DEPENDENCIES mvec)
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
      set(MRNET_WITH_MVEC ON)
    endif()
  endif()
endif()
if(MRNET_WITH_FFMPEG)
  list(INSERT MRNET_DEPENDENCIES 1 PkgConfig::mrnet_dep_ffmpeg)
endif()
if(MRNET_WITH_MPI)
  list(INSERT MRNET_DEPENDENCIES 1 PkgConfig::mrnet_dep_mpi)
endif()
