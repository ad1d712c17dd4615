# Install layout (FHS) and the Debian package.
#
#   bin/noisetrail, bin/noisetrail-cli
#   share/noisetrail/models/            the bundled cards, weights and data
#   share/noisetrail/docs/compare-*/    their committed compare caches and tables
#                                       (found by compare::committed_cache: models/../docs/compare-<stem>)
#   share/noisetrail/scripts/export_torchscript.py
#   share/applications/noisetrail.desktop, share/icons/hicolor/scalable/apps/noisetrail.svg
#   share/man/man1/noisetrail.1, noisetrail-cli.1
#   share/doc/noisetrail/               README, reference docs, licence
#
# The installed programs find share/noisetrail/models relative to their own folder
# (core/src/data_dirs.cpp), so any prefix works: /usr from the package, a DESTDIR
# staging tree in the install test, ~/.local from `cmake --install --prefix`.
include(GNUInstallDirs)

set(NOISETRAIL_DATA_DIR ${CMAKE_INSTALL_DATADIR}/noisetrail)
set(NOISETRAIL_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/noisetrail) # Debian: /usr/share/doc/<package>

install(TARGETS noisetrail-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(NOISETRAIL_BUILD_GUI)
  install(TARGETS noisetrail RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES resources/noisetrail.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES resources/icons/noisetrail.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
  install(FILES docs/man/noisetrail.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES docs/man/noisetrail-cli.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# What the repository ships in models/ (cards, weights, data, loss logs, sample grids);
# never training checkpoints or training configs.
install(DIRECTORY models/ DESTINATION ${NOISETRAIL_DATA_DIR}/models
  FILES_MATCHING PATTERN "*.json" PATTERN "*.pt" PATTERN "*.npy" PATTERN "*.csv" PATTERN "*.png" PATTERN "*.md"
  PATTERN "*.train.json" EXCLUDE PATTERN "*.ckpt" EXCLUDE)
file(GLOB NOISETRAIL_COMPARE_DIRS LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/docs/compare-*)
foreach(dir IN LISTS NOISETRAIL_COMPARE_DIRS)
  install(DIRECTORY ${dir} DESTINATION ${NOISETRAIL_DATA_DIR}/docs
    FILES_MATCHING PATTERN "*.json" PATTERN "*.md" PATTERN "*.csv" PATTERN "*.png" PATTERN "*.tmp" EXCLUDE)
endforeach()
install(PROGRAMS scripts/export_torchscript.py DESTINATION ${NOISETRAIL_DATA_DIR}/scripts)
install(FILES README.md docs/CLI.md docs/MODEL-CARDS.md docs/ARCHITECTURE.md docs/GUIDE.md docs/LESSONS.md
  docs/COMPARISON.md docs/PERFORMANCE.md docs/HARDENING.md
  DESTINATION ${NOISETRAIL_DOC_DIR})
install(FILES LICENSE DESTINATION ${NOISETRAIL_DOC_DIR} RENAME copyright)

# CPack: `cpack -G DEB` in the build folder makes noisetrail_<version>_<arch>.deb,
# which `apt install ./noisetrail_*.deb` installs with its runtime dependencies.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME noisetrail)
set(CPACK_PACKAGE_VENDOR "NoiseTrail")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Watch diffusion models denoise: DDPM and DDIM side by side, step by step")
set(CPACK_PACKAGE_CONTACT "NoiseTrail developers <noisetrail@users.noreply.github.com>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_LICENSE "GPL-3.0-or-later")
# Shared-library dependencies come from dpkg-shlibdeps (libtorch1.13, Qt 6, QCustomPlot...);
# OpenBLAS is loaded through the BLAS alternative, not linked, so it is named here:
# without it libtorch's matrix products run about 20x slower.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "NoiseTrail runs DDPM and DDIM sampling (libtorch) and shows the reverse process of diffusion models: every step of several samplers from the same starting noise, with a timeline to scrub the noise levels, statistics plots and a DDPM vs DDIM comparison. Includes noisetrail-cli for scripts and a few small trained and exact models.")
include(CPack)
