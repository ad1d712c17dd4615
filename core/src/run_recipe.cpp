#include "noisetrail/run_recipe.hpp"

#include <stdexcept>

namespace noisetrail {

RunSetRecipe read_run_recipe(const std::filesystem::path&) { throw std::logic_error("read_run_recipe: not yet implemented"); }
void write_run_recipe(const std::filesystem::path&, const RunSetRecipe&) { throw std::logic_error("write_run_recipe: not yet implemented"); }
std::vector<float> read_initial_noise(const std::filesystem::path&, const std::vector<std::int64_t>&, const std::string&) { throw std::logic_error("not yet implemented"); }
RunSet make_run_set(const RunSetRecipe&, const RunSetOptions&) { throw std::logic_error("make_run_set: not yet implemented"); }

} // namespace noisetrail
