# The runner of replicate.R (written by `python -m analysis export-r`): for every model of the
# check matrix, the first engine whose R packages are installed (at least at the minimum
# versions) re-estimates it with the arguments the cross-check passes; every check is then
# compared with the Python value within its tolerance, exactly as rbridge/crosscheck.py does.
# Copied verbatim into replicate.R after bridge.R, did.R and inference.R.

# The installed version of a package, or NA (without loading it).
rb_installed <- function(package) {
  if (!nzchar(system.file(package = package))) return(NA_character_)
  as.character(utils::packageDescription(package, fields = "Version"))
}

# Why an engine cannot run here ("" when it can).
rb_engine_problem <- function(engine, minimum) {
  if (nzchar(engine$unsupported)) return(engine$unsupported)
  for (p in engine$packages) {
    v <- rb_installed(p)
    if (is.na(v)) return(paste0("R package ", p, " is not installed"))
    if (!is.null(minimum[[p]]) &&
        utils::compareVersion(gsub("-", ".", v), gsub("-", ".", minimum[[p]])) < 0) {
      return(paste0("R package ", p, " ", v, " is older than ", minimum[[p]]))
    }
  }
  ""
}

rb_engine_label <- function(engine) {
  if (length(engine$packages) == 0) {
    return(paste0(engine$title, " R ", R.version$major, ".", R.version$minor))
  }
  paste(engine$title, rb_installed(engine$packages[[1]]))
}

# A matrix (or, with one column, a vector) written by export-r into replicate_inputs/.
rb_read_matrix <- function(here, file, vector = FALSE) {
  m <- as.matrix(utils::read.csv(file.path(here, "replicate_inputs", file), header = FALSE))
  dimnames(m) <- NULL
  if (vector) as.vector(m) else m
}

# The tolerance of a check (counts: exact).
rb_tolerance <- function(tolerances, family, quantity) {
  if (quantity %in% c("n_obs", "n_clusters")) return(0)
  hit <- tolerances$value[tolerances$family == family & tolerances$quantity == quantity]
  if (length(hit) != 1) stop("no tolerance for ", family, " / ", quantity)
  hit
}

rb_row <- function(model, term, quantity, check, py, r, tol, status, engine, reason) {
  diff <- if (is.finite(py) && is.finite(r)) abs(py - r) else NA_real_
  data.frame(model = model, term = term, quantity = quantity, check = check,
             python_value = py, r_value = r, difference = diff, tolerance = tol,
             verdict = status, r_engine = engine, reason = reason, stringsAsFactors = FALSE)
}

# The verdict of one comparison, as rbridge.crosscheck.verdict: relative to the larger of the
# two values and the value's scale (its row's SE), so it holds at any scale of the outcome.
rb_verdict <- function(py, r, tol, scale = 0) {
  if (is.na(py) && is.na(r)) return(c("pass", ""))
  diff <- abs(py - r)
  if (!is.finite(diff)) return(c("fail", "not finite"))
  size <- max(abs(py), abs(r), abs(scale))
  if (diff <= tol * size) return(c("pass", ""))
  c("fail", sprintf("|diff| %.3g > %g x %.3g", diff, tol, size))
}

# Compare every check of a model with R's values (a long table key / quantity / value).
rb_compare <- function(m, engine, label, res, tolerances) {
  ch <- m$checks
  rows <- vector("list", length(ch$check))
  for (i in seq_along(ch$check)) {
    family <- if (nzchar(ch$tolerance[i])) ch$tolerance[i] else engine$family
    tol <- rb_tolerance(tolerances, family, ch$quantity[i])
    skip <- ch$skip[i]
    if (!nzchar(skip) && nzchar(ch$needs_package[i])) {
      v <- rb_installed(ch$needs_package[i])
      if (utils::compareVersion(gsub("-", ".", v), ch$needs_version[i]) < 0) {
        skip <- paste0(ch$needs_reason[i], " (R ", ch$needs_package[i], " ", v, " ran)")
      }
    }
    base <- list(m$model, ch$term[i], ch$quantity[i], ch$check[i], ch$python[i])
    if (nzchar(skip)) {
      rows[[i]] <- do.call(rb_row, c(base, list(NA_real_, NA_real_, "skipped", "none", skip)))
      next
    }
    hit <- which(res$key == ch$key[i] & res$quantity == ch$quantity[i])
    if (length(hit) == 0) {
      rows[[i]] <- if (engine$missing == "skip") {
        do.call(rb_row, c(base, list(NA_real_, NA_real_, "skipped", "none",
                                     paste0(engine$title, " reports no '", ch$key[i], "'"))))
      } else {
        do.call(rb_row, c(base, list(NA_real_, tol, "fail", label, "R's fit has no such term")))
      }
      next
    }
    r <- res$value[hit[1]]
    v <- rb_verdict(ch$python[i], r, tol, ch$scale[i])
    rows[[i]] <- do.call(rb_row, c(base, list(r, tol, v[1], label, v[2])))
  }
  do.call(rbind, rows)
}

# Call an engine's R function on the panel; an R error is returned as a message.
rb_run_engine <- function(engine, panel) {
  tryCatch(
    suppressMessages(suppressWarnings(do.call(get(engine$fun), c(list(data = panel), engine$args)))),
    error = function(e) conditionMessage(e)
  )
}

rb_replicate <- function(here, tolerances, minimum, models, attached = NULL) {
  panel <- utils::read.csv(file.path(here, "analysis_panel.csv"))
  if (!is.null(attached)) {
    extra <- utils::read.csv(file.path(here, "replicate_inputs", attached))
    if (nrow(extra) != nrow(panel) || any(extra$city_code != panel$city_code) ||
        any(extra$year != panel$year)) {
      stop("replicate_inputs/", attached, " does not match analysis_panel.csv row by row")
    }
    for (column in setdiff(names(extra), names(panel))) panel[[column]] <- extra[[column]]
  }
  cache <- list()
  out <- list()
  for (m in models) {
    if (nzchar(m$skip)) {
      out[[length(out) + 1]] <- rb_row(m$model, "", "", m$model, NA_real_, NA_real_, NA_real_,
                                       "skipped", "none", m$skip)
      next
    }
    problems <- character()
    engine <- NULL
    for (e in m$engines) {
      problem <- rb_engine_problem(e, minimum)
      if (!nzchar(problem)) {
        engine <- e
        break
      }
      problems <- c(problems, paste0(e$name, ": ", problem))
    }
    if (is.null(engine)) {
      why <- paste(problems, collapse = "; ")
      ch <- m$checks
      out[[length(out) + 1]] <- rb_row(m$model, ch$term, ch$quantity, ch$check, ch$python,
                                       NA_real_, NA_real_, "skipped", "none", why)
      next
    }
    label <- rb_engine_label(engine)
    if (is.null(cache[[engine$cache_key]])) {
      started <- Sys.time()
      cache[[engine$cache_key]] <- list(res = rb_run_engine(engine, panel))
      cat(sprintf("%s with %s (%.1f s)\n", m$model, label,
                  as.numeric(difftime(Sys.time(), started, units = "secs"))))
    }
    res <- cache[[engine$cache_key]]$res
    if (is.character(res)) {
      ch <- m$checks
      out[[length(out) + 1]] <- rb_row(m$model, ch$term, ch$quantity, ch$check, ch$python,
                                       NA_real_, NA_real_, "fail", label,
                                       paste0("R error in ", engine$r_function, " (", m$model, "): ", res))
      next
    }
    out[[length(out) + 1]] <- rb_compare(m, engine, label, res, tolerances)
  }
  table <- do.call(rbind, out)
  utils::write.csv(table, file.path(here, "replicate.csv"), row.names = FALSE)
  shown <- table[, c("model", "term", "quantity", "python_value", "r_value", "difference",
                     "tolerance", "verdict")]
  print(format(shown, digits = 6), row.names = FALSE)
  counts <- vapply(c("pass", "fail", "skipped"), function(s) sum(table$verdict == s), numeric(1))
  cat(sprintf("\nreplicate.R: %d pass, %d fail, %d skipped -> %s\n", counts[["pass"]],
              counts[["fail"]], counts[["skipped"]], file.path(here, "replicate.csv")))
  skipped <- table[table$verdict == "skipped", ]
  if (nrow(skipped) > 0) {
    cat("Skipped, and why:\n")
    reasons <- table(skipped$reason)
    for (r in names(reasons)) cat(sprintf("  %d x %s\n", reasons[[r]], r))
  }
  invisible(counts[["fail"]] == 0)
}
