/* The page mrnet serve sends for "/": HTML, CSS and JavaScript in one
 * string, nothing fetched from elsewhere (page.c). */
#ifndef MRNET_SERVE_PAGE_H
#define MRNET_SERVE_PAGE_H
#include <mrnet/serve.h>
extern const char serve_page_html[];
#endif
