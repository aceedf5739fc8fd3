# Python code of the gRPC contract, generated at build time from proto/intrinsix/v1/*.proto.
#
# Produces the package `intrinsix.proto.intrinsix.v1` (`<name>_pb2`, `<name>_pb2_grpc`, `.pyi`
# stubs) with `python -m grpc_tools.protoc` of the build's Python, writes it into the build tree at
#   <build>/python/intrinsix/proto/        (tools/dev_env.sh links it into the dev site)
# and installs it as <prefix>/intrinsix/proto/. Generated code is never committed or edited by hand.
#
# protoc names Python modules after the proto import path (`intrinsix/v1/job.proto` ->
# `from intrinsix.v1 import job_pb2`), which is not where the modules live. The build therefore
# rewrites those absolute imports of sibling modules into relative ones (`from . import job_pb2`),
# the same post-processing tools such as protoletariat do. The proto file names registered in the
# descriptor pool stay `intrinsix/v1/*.proto`, so this package and the client SDK's own copy of the
# stubs (clients/python) can be imported into one process: identical files are registered once.
#
# This file has two modes: included from CMakeLists.txt it defines the build rules; run as
# `cmake -DINTRINSIX_PROTO_GEN_DIR=<dir> -P proto.cmake` it performs the import rewrite.

if(CMAKE_SCRIPT_MODE_FILE)
  # ---- script mode: make the generated package relocatable -------------------------------------
  if(NOT INTRINSIX_PROTO_GEN_DIR)
    message(FATAL_ERROR "proto.cmake script mode needs -DINTRINSIX_PROTO_GEN_DIR=<package root>")
  endif()
  set(_v1 "${INTRINSIX_PROTO_GEN_DIR}/intrinsix/v1")
  file(GLOB _generated "${_v1}/*_pb2.py" "${_v1}/*_pb2.pyi" "${_v1}/*_pb2_grpc.py")
  if(NOT _generated)
    message(FATAL_ERROR "protoc produced no Python modules in ${_v1}")
  endif()
  foreach(_file IN LISTS _generated)
    file(READ "${_file}" _text)
    # A leading newline makes an import on the first line (.pyi files) match like every other.
    string(PREPEND _text "\n")
    string(REPLACE "\nfrom intrinsix.v1 import " "\nfrom . import " _text "${_text}")
    if(_text MATCHES "(^|\n)(from|import) intrinsix\\.v1")
      message(FATAL_ERROR "${_file}: an import of intrinsix.v1 in a form this build does not rewrite; "
        "update the rewrite in cmake/proto.cmake for this protoc version")
    endif()
    string(SUBSTRING "${_text}" 1 -1 _text)
    file(WRITE "${_file}" "${_text}")
  endforeach()
  file(WRITE "${INTRINSIX_PROTO_GEN_DIR}/__init__.py"
    "\"\"\"Generated gRPC/protobuf code of the IntrinsiX protocol (from proto/; do not edit).\n\n"
    "Import the modules from `intrinsix.proto.intrinsix.v1`, e.g. `service_pb2`, `service_pb2_grpc`.\n\"\"\"\n")
  file(WRITE "${INTRINSIX_PROTO_GEN_DIR}/intrinsix/__init__.py" "")
  file(WRITE "${_v1}/__init__.py" "\"\"\"intrinsix.v1 protocol modules, generated at build time.\"\"\"\n")
  return()
endif()

# ---- build rules -----------------------------------------------------------------------------
intrinsix_option(INTRINSIX_PROTO "ON"
  "Generate the Python gRPC modules (intrinsix.proto) from proto/; needs grpcio-tools in the build's Python")
if(NOT INTRINSIX_PROTO)
  message(STATUS "IntrinsiX protocol: Python modules not generated (INTRINSIX_PROTO=OFF); the server will not import")
  return()
endif()

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import grpc_tools, grpc_tools.protoc; from importlib.metadata import version; print(version('grpcio-tools'))"
  OUTPUT_VARIABLE _grpc_tools_version
  RESULT_VARIABLE _grpc_tools_rc
  ERROR_QUIET
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _grpc_tools_rc EQUAL 0)
  message(FATAL_ERROR
    "The gRPC protocol modules are generated with grpcio-tools, which '${Python3_EXECUTABLE}' cannot import.\n"
    "Install it (pip install grpcio-tools) or configure with -DINTRINSIX_PROTO=OFF to build without the server.")
endif()
message(STATUS "IntrinsiX protocol: Python modules from proto/ with grpcio-tools ${_grpc_tools_version}")

set(INTRINSIX_PROTO_SOURCE_DIR "${CMAKE_CURRENT_SOURCE_DIR}/proto")
file(GLOB INTRINSIX_PROTO_FILES CONFIGURE_DEPENDS "${INTRINSIX_PROTO_SOURCE_DIR}/intrinsix/v1/*.proto")
# The package `intrinsix.proto` in the build tree.
set(INTRINSIX_PROTO_PY_DIR "${CMAKE_BINARY_DIR}/python/${INTRINSIX_PY_ROOT}/proto")

set(_proto_outputs
  "${INTRINSIX_PROTO_PY_DIR}/__init__.py"
  "${INTRINSIX_PROTO_PY_DIR}/intrinsix/__init__.py"
  "${INTRINSIX_PROTO_PY_DIR}/intrinsix/v1/__init__.py")
foreach(_proto IN LISTS INTRINSIX_PROTO_FILES)
  get_filename_component(_stem "${_proto}" NAME_WE)
  foreach(_suffix _pb2.py _pb2.pyi _pb2_grpc.py)
    list(APPEND _proto_outputs "${INTRINSIX_PROTO_PY_DIR}/intrinsix/v1/${_stem}${_suffix}")
  endforeach()
endforeach()

add_custom_command(
  OUTPUT ${_proto_outputs}
  # Start clean so that a removed .proto leaves no stale module behind.
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${INTRINSIX_PROTO_PY_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${INTRINSIX_PROTO_PY_DIR}"
  COMMAND "${Python3_EXECUTABLE}" -m grpc_tools.protoc
    "-I${INTRINSIX_PROTO_SOURCE_DIR}"
    "--python_out=${INTRINSIX_PROTO_PY_DIR}"
    "--pyi_out=${INTRINSIX_PROTO_PY_DIR}"
    "--grpc_python_out=${INTRINSIX_PROTO_PY_DIR}"
    ${INTRINSIX_PROTO_FILES}
  COMMAND "${CMAKE_COMMAND}" "-DINTRINSIX_PROTO_GEN_DIR=${INTRINSIX_PROTO_PY_DIR}" -P "${CMAKE_CURRENT_LIST_FILE}"
  DEPENDS ${INTRINSIX_PROTO_FILES} "${CMAKE_CURRENT_LIST_FILE}"
  COMMENT "Generating intrinsix.proto (Python gRPC/protobuf modules) from proto/intrinsix/v1"
  VERBATIM)
add_custom_target(intrinsix_proto_python ALL DEPENDS ${_proto_outputs})

install(DIRECTORY "${INTRINSIX_PROTO_PY_DIR}/" DESTINATION "${INTRINSIX_PY_ROOT}/proto"
  FILES_MATCHING PATTERN "*.py" PATTERN "*.pyi" PATTERN "__pycache__" EXCLUDE)
