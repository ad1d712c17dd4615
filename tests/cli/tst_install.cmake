# The install layout, end to end: `cmake --install` into a DESTDIR staging tree, then
# the installed noisetrail-cli samples a bundled card by name from another working
# directory, with NOISETRAIL_MODELS unset and the XDG dirs pointing nowhere: it can
# only find share/noisetrail/models next to its own bin/.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -P tst_install.cmake
cmake_minimum_required(VERSION 3.25)
foreach(v BUILD_DIR WORK_DIR)
  if(NOT ${v})
    message(FATAL_ERROR "tst_install: -D${v}=... is required")
  endif()
endforeach()

set(stage ${WORK_DIR}/stage)
set(prefix /usr)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/elsewhere)

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${stage} ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}\n${err}")
endif()

set(root ${stage}${prefix})
foreach(f
    bin/noisetrail-cli
    share/noisetrail/models/ring8.json
    share/noisetrail/models/mnist-unet.json
    share/noisetrail/models/mnist-unet.pt
    share/noisetrail/models/mnist-unet-large.json
    share/noisetrail/models/mnist-unet-large.pt
    share/noisetrail/models/mnist-unet-wide.json
    share/noisetrail/models/mnist-unet-wide.pt
    share/noisetrail/models/data/mnist-heldout-500_images.npy
    share/noisetrail/models/lessons/ddpm-vs-ddim.lesson.json
    share/noisetrail/docs/compare-ring8/compare-cache.json
    share/noisetrail/docs/compare-mnist-unet/compare-cache.json
    share/noisetrail/docs/compare-mnist-unet-large/compare-cache.json
    share/noisetrail/docs/compare-mnist-unet-wide/compare-cache.json
    share/noisetrail/scripts/export_torchscript.py
    share/man/man1/noisetrail-cli.1
    share/doc/noisetrail/CLI.md
    share/doc/noisetrail/MODEL-CARDS.md
    share/doc/noisetrail/LESSONS.md
    share/doc/noisetrail/ARCHITECTURE.md)
  if(NOT EXISTS ${root}/${f})
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
if(EXISTS ${BUILD_DIR}/app/gui/noisetrail)
  foreach(f bin/noisetrail share/applications/noisetrail.desktop
            share/icons/hicolor/scalable/apps/noisetrail.svg share/man/man1/noisetrail.1)
    if(NOT EXISTS ${root}/${f})
      message(FATAL_ERROR "not installed: ${prefix}/${f}")
    endif()
  endforeach()
endif()
file(GLOB train_configs ${root}/share/noisetrail/models/*.train.json)
if(train_configs)
  message(FATAL_ERROR "training configs must not be installed as cards: ${train_configs}")
endif()

# Sample a bundled card by its bare name, from a folder with no models in sight.
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=NOISETRAIL_MODELS XDG_DATA_HOME=${WORK_DIR}/none
          XDG_DATA_DIRS=${WORK_DIR}/none HOME=${WORK_DIR}/none
          ${root}/bin/noisetrail-cli sample --model ring8 --sampler ddim --steps 10 --batch 64 --seed 1
          --threads 1 --out out --dump steps
  WORKING_DIRECTORY ${WORK_DIR}/elsewhere
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installed noisetrail-cli sample failed (${rc}):\n${out}\n${err}")
endif()
foreach(f out/samples.npy out/samples.png steps/xt.npy steps/meta.json)
  if(NOT EXISTS ${WORK_DIR}/elsewhere/${f})
    message(FATAL_ERROR "the installed CLI did not write ${f}")
  endif()
endforeach()
# It used the installed card, not the source tree's.
file(READ ${WORK_DIR}/elsewhere/steps/meta.json meta)
string(JSON card GET "${meta}" model_card)
cmake_path(SET expect NORMALIZE "${root}/share/noisetrail/models/ring8.json")
cmake_path(SET got NORMALIZE "${card}")
if(NOT got STREQUAL expect)
  message(FATAL_ERROR "the installed CLI sampled ${got}, expected ${expect}")
endif()
# The committed compare caches travel with the install: keyed on content, every cell of
# the ring and digit grids is found in share/noisetrail/docs/, none is recomputed.
foreach(case "ring8;1000" "mnist-unet;100")
  list(GET case 0 card)
  list(GET case 1 n)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=NOISETRAIL_MODELS XDG_DATA_HOME=${WORK_DIR}/none
            XDG_DATA_DIRS=${WORK_DIR}/none HOME=${WORK_DIR}/none
            ${root}/bin/noisetrail-cli compare --model ${card} --samples ${n} --threads 1 --out cmp-${card}
    WORKING_DIRECTORY ${WORK_DIR}/elsewhere
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT err MATCHES "25 cells \\(0 computed, 25 cached\\)")
    message(FATAL_ERROR "installed compare of ${card} did not use the committed cache (exit ${rc}):\n${err}")
  endif()
endforeach()

# A name that is no bundled card: exit 2 with one line naming the flag.
execute_process(
  COMMAND ${root}/bin/noisetrail-cli sample --model no-such-card --out out
  WORKING_DIRECTORY ${WORK_DIR}/elsewhere RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "--model no-such-card")
  message(FATAL_ERROR "unknown card name: exit ${rc}, stderr ${err}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "tst_install: installed tree works from ${WORK_DIR}/elsewhere; card ${got}")
