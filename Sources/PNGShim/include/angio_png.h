/* angio_png.h: small C interface over libpng's *simplified* png_image API.
 *
 * Only the simplified API is used because libpng's classic API reports errors with longjmp,
 * which cannot unwind Swift frames safely. Every function returns a closed status code and,
 * on failure, fills `message` (a caller-owned buffer) with libpng's explanation.
 */
#ifndef ANGIO_PNG_H
#define ANGIO_PNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum angio_png_status {
    ANGIO_PNG_OK = 0,
    ANGIO_PNG_INVALID_ARGUMENT = 1, /* zero/oversized dimensions, null buffers */
    ANGIO_PNG_IO_ERROR = 2,         /* cannot open / write / rename the file */
    ANGIO_PNG_ENCODE_FAILED = 3,    /* libpng refused to write */
    ANGIO_PNG_DECODE_FAILED = 4,    /* not a PNG or corrupt */
    ANGIO_PNG_OUT_OF_MEMORY = 5
} angio_png_status;

/* Pixel layouts understood by the shim. 16-bit samples are passed in host order; libpng
 * writes them big-endian as the PNG specification requires, values unmodified (no gamma). */
typedef enum angio_png_format {
    ANGIO_PNG_GRAY8 = 0,
    ANGIO_PNG_GRAY16 = 1,
    ANGIO_PNG_RGB8 = 2,
    ANGIO_PNG_RGBA8 = 3
} angio_png_format;

/* Library version as an integer (e.g. 10639). */
int angio_png_version(void);

/* Bytes per pixel of a format. */
int angio_png_bytes_per_pixel(angio_png_format format);

/* Writes `pixels` (row-major, no row padding) as a PNG at `path`. The write goes to a
 * temporary file next to `path` that is renamed over it only when complete. */
angio_png_status angio_png_write(const char *path, uint32_t width, uint32_t height,
                                 angio_png_format format, const void *pixels,
                                 char *message, size_t message_capacity);

/* Reads the PNG header: dimensions and the native format closest to the file
 * (GRAY8, GRAY16, RGB8 or RGBA8; 16-bit colour reports RGB8/RGBA8). */
angio_png_status angio_png_read_info(const char *path, uint32_t *width, uint32_t *height,
                                     angio_png_format *native_format,
                                     char *message, size_t message_capacity);

/* Reads the PNG into `pixels` converted to `format`; the buffer must hold
 * width * height * angio_png_bytes_per_pixel(format) bytes (`capacity`). 16-bit formats are
 * read linearly (no gamma) so stored 16-bit values come back unchanged. */
angio_png_status angio_png_read(const char *path, angio_png_format format, void *pixels,
                                size_t capacity, char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif
#endif
