/* MIME types for static files and responses: a file name (or bare extension) to the
 * Content-Type to send, and whether a type is worth compressing on the fly. */
#ifndef SIO_HTTP_MIME_H
#define SIO_HTTP_MIME_H

/* The Content-Type for a path ("/a/b.HTML"), a file name ("app.js"), or an extension with or
 * without its dot ("css", ".css"); case-insensitive. Text types carry "; charset=utf-8".
 * Unknown or missing extensions give "application/octet-stream". Never NULL; static storage. */
const char *sio__mime_type(const char *path_or_ext);

/* 1 if a body of this Content-Type (parameters such as "; charset=..." ignored, any case)
 * usually shrinks under gzip: text, JSON, JavaScript, XML, SVG, WebAssembly, uncompressed
 * fonts. 0 for images, audio, video, archives and already-compressed fonts; 0 for NULL. */
int sio__mime_compressible(const char *mime);

#endif
