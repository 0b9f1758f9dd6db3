#include "support/qmux_test.h"
int main(void) { return 0; }
