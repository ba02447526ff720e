# Embeds the official socket.io browser client (npm socket.io-client, installed by scripts/deps)
# into the socketio layer as generated C arrays, so that the server can serve
# /socket.io/socket.io.js without reading files at run time. tools/bin2c.c does the conversion.
#
# Without the bundle (a clone built before `scripts/deps`, or `make install` on a machine with no
# Node), the table is generated empty: the library still links, and the server answers the
# bundle's URLs with 404 and a body that says how to get it. cmake says so once per build tree.
set(SIO_CLIENT_DIST ${CMAKE_SOURCE_DIR}/node_modules/socket.io-client/dist
    CACHE PATH "socket.io-client's dist/ folder, whose bundle the server embeds")
set(SIO_CLIENT_FILES socket.io.js socket.io.min.js socket.io.js.map socket.io.min.js.map
    socket.io.esm.min.js socket.io.esm.min.js.map)
add_executable(sio_bin2c ${CMAKE_SOURCE_DIR}/tools/bin2c.c)
set_target_properties(sio_bin2c PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
set(inputs)
if(EXISTS ${SIO_CLIENT_DIST}/socket.io.js)
  foreach(f IN LISTS SIO_CLIENT_FILES)
    list(APPEND inputs ${SIO_CLIENT_DIST}/${f})
  endforeach()
  set(SIO_HAVE_CLIENT_BUNDLE 1)
  unset(SIO_CLIENT_BUNDLE_WARNED CACHE)
elseif(NOT SIO_CLIENT_BUNDLE_WARNED)
  message(WARNING "socket.io-client is not installed (${SIO_CLIENT_DIST} is missing): sio builds "
                  "without the browser client, and /socket.io/socket.io.js answers 404. Run "
                  "scripts/deps (or `make run` / `make test`, which run it), then build again.")
  set(SIO_CLIENT_BUNDLE_WARNED ON CACHE INTERNAL "the missing-bundle warning was printed")
endif()
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/gen)
set(out ${CMAKE_BINARY_DIR}/gen/client_bundle.c)
add_custom_command(OUTPUT ${out}
  COMMAND sio_bin2c ${out} ${inputs}
  DEPENDS sio_bin2c ${inputs}
  COMMENT "Embedding socket.io-client bundle")
set(SIO_EXTRA_SRCS_socketio ${out})
