# SPDX-License-Identifier: Apache-2.0
# Doxygen input filter: a header's opening comment becomes its file documentation, so the
# headers keep the plain `//` style STYLE.md asks for and still each get a described file page.
# Line 1 (the SPDX line) turns into `/// @file`; line 2 opens the brief (`/// @brief`), and the
# `//` lines after it, up to the first line that is not a comment, continue it as `///` lines.
# Line numbers do not move, so warnings point at the real header lines.
1s|^// SPDX-License-Identifier:.*$|/// @file|
2s|^// |/// @brief |
3,/^[^/]/{
  s|^// |/// |
  s|^//$|///|
}
