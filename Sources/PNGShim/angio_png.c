#include <png.h>
#include "angio_png.h"
int angio_png_version(void) { return PNG_LIBPNG_VER; }
