/* angio_png.h: C interface over libpng's simplified API. Placeholder until the reporter lands. */
#ifndef ANGIO_PNG_H
#define ANGIO_PNG_H
int angio_png_version(void);
#endif
