# Embeds the official socket.io browser client (npm socket.io-client, installed by scripts/deps)
# into the socketio layer as generated C arrays, so that the server can serve
# /socket.io/socket.io.js without reading files at run time. tools/bin2c.c does the conversion.
set(SIO_CLIENT_DIST ${CMAKE_SOURCE_DIR}/node_modules/socket.io-client/dist)
set(SIO_CLIENT_FILES socket.io.js socket.io.min.js socket.io.js.map socket.io.min.js.map
    socket.io.esm.min.js socket.io.esm.min.js.map)
if(EXISTS ${SIO_CLIENT_DIST}/socket.io.js)
  add_executable(sio_bin2c ${CMAKE_SOURCE_DIR}/tools/bin2c.c)
  set_target_properties(sio_bin2c PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
  set(inputs)
  foreach(f IN LISTS SIO_CLIENT_FILES)
    list(APPEND inputs ${SIO_CLIENT_DIST}/${f})
  endforeach()
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/gen)
  set(out ${CMAKE_BINARY_DIR}/gen/client_bundle.c)
  add_custom_command(OUTPUT ${out}
    COMMAND sio_bin2c ${out} ${inputs}
    DEPENDS sio_bin2c ${inputs}
    COMMENT "Embedding socket.io-client bundle")
  set(SIO_EXTRA_SRCS_socketio ${out})
  set(SIO_HAVE_CLIENT_BUNDLE 1)
else()
  message(WARNING "socket.io-client not installed (run scripts/deps); /socket.io/socket.io.js will answer 404")
endif()
