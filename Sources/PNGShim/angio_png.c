/* angio_png.c: PNG read/write through libpng's simplified png_image API (libpng >= 1.6).
 * The simplified API never longjmps into the caller: errors come back as a zero return and
 * a message in png_image.message, which we copy into the caller's buffer. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "angio_png.h"

/* PNG allows 2^31-1, but a buffer that large is certainly a caller bug. */
#define ANGIO_PNG_MAX_DIMENSION 100000u

int angio_png_version(void) { return PNG_LIBPNG_VER; }

int angio_png_bytes_per_pixel(angio_png_format format) {
    switch (format) {
    case ANGIO_PNG_GRAY8: return 1;
    case ANGIO_PNG_GRAY16: return 2;
    case ANGIO_PNG_RGB8: return 3;
    case ANGIO_PNG_RGBA8: return 4;
    }
    return 0;
}

static void set_message(char *message, size_t capacity, const char *text) {
    if (message == NULL || capacity == 0) return;
    snprintf(message, capacity, "%s", text);
}

/* Maps our format onto libpng's simplified-API format flags. LINEAR = 16-bit samples with
 * gamma 1.0, which makes libpng store the values exactly as given. */
static int png_format_for(angio_png_format format, png_uint_32 *out) {
    switch (format) {
    case ANGIO_PNG_GRAY8: *out = PNG_FORMAT_GRAY; return 1;
    case ANGIO_PNG_GRAY16: *out = PNG_FORMAT_LINEAR_Y; return 1;
    case ANGIO_PNG_RGB8: *out = PNG_FORMAT_RGB; return 1;
    case ANGIO_PNG_RGBA8: *out = PNG_FORMAT_RGBA; return 1;
    }
    return 0;
}

angio_png_status angio_png_write(const char *path, uint32_t width, uint32_t height,
                                 angio_png_format format, const void *pixels,
                                 char *message, size_t message_capacity) {
    png_uint_32 png_format = 0;
    if (path == NULL || pixels == NULL || !png_format_for(format, &png_format)) {
        set_message(message, message_capacity, "invalid arguments (null path/pixels or unknown format)");
        return ANGIO_PNG_INVALID_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > ANGIO_PNG_MAX_DIMENSION || height > ANGIO_PNG_MAX_DIMENSION) {
        char text[128];
        snprintf(text, sizeof text, "invalid image size %ux%u", width, height);
        set_message(message, message_capacity, text);
        return ANGIO_PNG_INVALID_ARGUMENT;
    }

    /* Write to a unique temporary file in the destination folder, then rename: readers never
     * see a half-written PNG and an interrupted run leaves the previous file intact. */
    size_t path_length = strlen(path);
    char *temp_path = malloc(path_length + 16);
    if (temp_path == NULL) {
        set_message(message, message_capacity, "out of memory");
        return ANGIO_PNG_OUT_OF_MEMORY;
    }
    memcpy(temp_path, path, path_length);
    memcpy(temp_path + path_length, ".tmp-XXXXXX", 12);
    int fd = mkstemp(temp_path);
    if (fd < 0) {
        char text[512];
        snprintf(text, sizeof text, "cannot create temporary file: %s", strerror(errno));
        set_message(message, message_capacity, text);
        free(temp_path);
        return ANGIO_PNG_IO_ERROR;
    }
    /* mkstemp creates 0600; give the file the usual 0666 & ~umask permissions. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *file = fdopen(fd, "wb");
    if (file == NULL) {
        close(fd);
        unlink(temp_path);
        free(temp_path);
        set_message(message, message_capacity, "cannot open temporary file");
        return ANGIO_PNG_IO_ERROR;
    }

    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = png_format;
    int ok = png_image_write_to_stdio(&image, file, 0 /* keep 16-bit */, pixels, 0 /* packed rows */, NULL);
    angio_png_status status = ANGIO_PNG_OK;
    if (!ok) {
        set_message(message, message_capacity, image.message[0] ? image.message : "libpng write failed");
        status = ANGIO_PNG_ENCODE_FAILED;
    }
    png_image_free(&image);
    if (fclose(file) != 0 && status == ANGIO_PNG_OK) {
        char text[512];
        snprintf(text, sizeof text, "cannot finish writing: %s", strerror(errno));
        set_message(message, message_capacity, text);
        status = ANGIO_PNG_IO_ERROR;
    }
    if (status == ANGIO_PNG_OK && rename(temp_path, path) != 0) {
        char text[512];
        snprintf(text, sizeof text, "cannot rename temporary file into place: %s", strerror(errno));
        set_message(message, message_capacity, text);
        status = ANGIO_PNG_IO_ERROR;
    }
    if (status != ANGIO_PNG_OK) unlink(temp_path);
    free(temp_path);
    return status;
}

static angio_png_status begin_read(png_image *image, const char *path, char *message, size_t message_capacity) {
    memset(image, 0, sizeof *image);
    image->version = PNG_IMAGE_VERSION;
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) {
        char text[512];
        snprintf(text, sizeof text, "cannot open: %s", strerror(errno));
        set_message(message, message_capacity, text);
        return ANGIO_PNG_IO_ERROR;
    }
    fclose(probe);
    if (!png_image_begin_read_from_file(image, path)) {
        set_message(message, message_capacity, image->message[0] ? image->message : "not a PNG file");
        png_image_free(image);
        return ANGIO_PNG_DECODE_FAILED;
    }
    return ANGIO_PNG_OK;
}

angio_png_status angio_png_read_info(const char *path, uint32_t *width, uint32_t *height,
                                     angio_png_format *native_format,
                                     char *message, size_t message_capacity) {
    if (path == NULL || width == NULL || height == NULL || native_format == NULL) {
        set_message(message, message_capacity, "invalid arguments");
        return ANGIO_PNG_INVALID_ARGUMENT;
    }
    png_image image;
    angio_png_status status = begin_read(&image, path, message, message_capacity);
    if (status != ANGIO_PNG_OK) return status;
    *width = image.width;
    *height = image.height;
    png_uint_32 f = image.format;
    if (f & PNG_FORMAT_FLAG_COLOR) {
        *native_format = (f & PNG_FORMAT_FLAG_ALPHA) ? ANGIO_PNG_RGBA8 : ANGIO_PNG_RGB8;
    } else {
        *native_format = (f & PNG_FORMAT_FLAG_LINEAR) ? ANGIO_PNG_GRAY16 : ANGIO_PNG_GRAY8;
    }
    png_image_free(&image);
    return ANGIO_PNG_OK;
}

angio_png_status angio_png_read(const char *path, angio_png_format format, void *pixels,
                                size_t capacity, char *message, size_t message_capacity) {
    png_uint_32 png_format = 0;
    if (path == NULL || pixels == NULL || !png_format_for(format, &png_format)) {
        set_message(message, message_capacity, "invalid arguments");
        return ANGIO_PNG_INVALID_ARGUMENT;
    }
    png_image image;
    angio_png_status status = begin_read(&image, path, message, message_capacity);
    if (status != ANGIO_PNG_OK) return status;
    image.format = png_format;
    size_t needed = (size_t)image.width * image.height * (size_t)angio_png_bytes_per_pixel(format);
    if (capacity < needed) {
        set_message(message, message_capacity, "destination buffer too small");
        png_image_free(&image);
        return ANGIO_PNG_INVALID_ARGUMENT;
    }
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        set_message(message, message_capacity, image.message[0] ? image.message : "libpng read failed");
        png_image_free(&image);
        return ANGIO_PNG_DECODE_FAILED;
    }
    png_image_free(&image);
    return ANGIO_PNG_OK;
}
