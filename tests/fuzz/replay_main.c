/* Plain driver for the fuzz targets: feeds every regular file of each
 * directory (or file) named on the command line to LLVMFuzzerTestOneInput,
 * so that the seed corpora are replayed by any compiler, with or without
 * libFuzzer. Fails when no input was found, so that a missing corpus
 * cannot pass unnoticed. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n = 0;
    int rc = -1;

    if (f == NULL)
        goto done;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto done;
    /* Exactly `n` bytes, so that a sanitizer sees any read past them; one
     * byte for an empty file so that the pointer is valid. */
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto done;
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "replay: cannot read %s\n", path);
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

static int regular(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int i, bad = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct dirent **names = NULL;
        int n, k;

        if (regular(argv[i])) {
            bad |= run_file(argv[i]) != 0;
            count++;
            continue;
        }
        n = scandir(argv[i], &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "replay: cannot list %s\n", argv[i]);
            return 1;
        }
        for (k = 0; k < n; k++) {
            size_t len = strlen(argv[i]) + strlen(names[k]->d_name) + 2;
            char *path = malloc(len);

            if (path == NULL)
                return 1;
            snprintf(path, len, "%s/%s", argv[i], names[k]->d_name);
            if (regular(path)) {
                bad |= run_file(path) != 0;
                count++;
            }
            free(path);
            free(names[k]);
        }
        free(names);
    }
    printf("replayed %zu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return bad ? 1 : 0;
}
