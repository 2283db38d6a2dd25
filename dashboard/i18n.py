"""The one catalogue of user-facing text, French first, and Babel formatting for fr_CA and en_CA."""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import NumberPattern, format_percent, parse_pattern

from dashboard import settings

LANGUAGES = ("fr", "en")
LOCALES = {"fr": "fr_CA", "en": "en_CA"}

# key: (French, English). Placeholders use str.format names.
CATALOGUE: dict[str, tuple[str, str]] = {
    # command line
    "cli.description": (
        "Relais : tableau de bord police–communauté en violence conjugale.",
        "Relais: police–community dashboard on domestic violence.",
    ),
    "cli.error": ("Erreur : {message}", "Error: {message}"),
    "cli.init_db.done": (
        "Base de données à jour ({url}) : {services} services de police, {municipalities} municipalités.",
        "Database up to date ({url}): {services} police services, {municipalities} municipalities.",
    ),
    "cli.usage.skip_invalid_needs_rejects": (
        "--skip-invalid et --rejects vont ensemble : indiquez les deux, ou aucun.",
        "--skip-invalid and --rejects go together: give both, or neither.",
    ),
    # data freshness: each police service's latest import and intervention, late data said in words
    "freshness.stale": (
        "Dernières données du service {service} : il y a {elapsed} (attendues au moins toutes les {limit} h) ; "
        "des arrestations récentes peuvent manquer.",
        "Latest data from {service}: {elapsed} ago (expected at least every {limit} h); recent arrests may be "
        "missing.",
    ),
    "freshness.never": (
        "Aucune donnée reçue du service {service} : ses arrestations n'apparaissent pas encore ici.",
        "No data received from {service}: its arrests do not appear here yet.",
    ),
    "freshness.elapsed.under_hour": ("moins d'une heure", "less than an hour"),
    "freshness.elapsed.hours": ("{hours} h", "{hours} h"),
    "freshness.elapsed.days": ("{days} jours", "{days} days"),
    "freshness.title": ("Fraîcheur des données", "Data freshness"),
    "freshness.caption": (
        "Une importation compte quand un fichier d'interventions de la police a été écrit, en entier ou en partie "
        "(commande, téléversement, dossier de dépôt ou démo), ou livré de nouveau à l'identique ; un dossier saisi à "
        "la main n'en est pas une. "
        "Un service est en retard après {limit} h sans importation. Heures locales.",
        "An import counts when a police file of interventions was written, whole or in part (command, upload, "
        "drop folder or demo), or delivered again unchanged; a case entered by hand is not one. A service is late "
        "after {limit} h without an "
        "import. Local times.",
    ),
    "freshness.column.service": ("Service de police", "Police service"),
    "freshness.column.last_import": ("Dernière importation", "Latest import"),
    "freshness.column.import_age": ("Depuis l'importation", "Since the import"),
    "freshness.column.last_intervention": ("Dernière intervention", "Latest intervention"),
    "freshness.column.intervention_age": ("Depuis l'intervention", "Since the intervention"),
    "freshness.column.status": ("État", "Status"),
    "freshness.status.fresh": ("À jour", "Up to date"),
    "freshness.status.late": ("En retard : aucune importation depuis {elapsed}",
                              "Late: no import for {elapsed}"),
    "freshness.status.never": ("En retard : aucune donnée reçue", "Late: no data received"),
    "freshness.never_at": ("jamais", "never"),
    "freshness.cli.line": (
        "{code} : dernière importation {imported} · dernière intervention {intervened} · {status}",
        "{code}: latest import {imported} · latest intervention {intervened} · {status}",
    ),
    "freshness.cli.when": ("{when} (il y a {elapsed})", "{when} ({elapsed} ago)"),
    "freshness.cli.announced": ("Retards annoncés aux administrateurs : {count}.",
                                "Late spells announced to the administrators: {count}."),
    "freshness.cli.not_configured": (
        "Aucun retard annoncé : RELAIS_ADMIN_EMAILS ou RELAIS_SMTP_URL n'est pas défini.",
        "No late spell announced: RELAIS_ADMIN_EMAILS or RELAIS_SMTP_URL is not set.",
    ),
    "freshness.cli.failed": (
        "Le courriel du retard de {code} n'a atteint aucun administrateur ; il sera renvoyé à la prochaine "
        "vérification.",
        "The e-mail about {code}'s late data reached no administrator; it will be sent again at the next check.",
    ),
    "freshness.mail.subject": ("Relais : données du service {code} en retard", "Relais: {code} data late"),
    "freshness.mail.stale": (
        "Le service {name} ({code}) n'a transmis aucune donnée depuis {elapsed} (dernière importation : {imported}, "
        "heure locale). Les arrestations récentes peuvent manquer dans la file des intervenantes et intervenants. "
        "Vérifiez l'exportation de ce service.",
        "{name} ({code}) has sent no data for {elapsed} (latest import: {imported}, local time). Recent arrests "
        "may be missing from the workers' queue. Check this service's export.",
    ),
    "freshness.mail.never": (
        "Le service {name} ({code}) n'a encore transmis aucune donnée. Ses arrestations n'apparaissent pas dans la "
        "file des intervenantes et intervenants.",
        "{name} ({code}) has not sent any data yet. Its arrests do not appear in the workers' queue.",
    ),
    "freshness.mail.link": ("Fraîcheur des données : {link}", "Data freshness: {link}"),
    "freshness.mail.footer": (
        "Un seul courriel par période de retard : la prochaine importation de ce service y met fin.",
        "One e-mail per late spell: this service's next import ends it.",
    ),
    # import: reasons a value, a row or a whole file is refused
    "import.reason.required": ("valeur obligatoire manquante", "required value missing"),
    "import.reason.too_long": ("plus de {limit} caractères", "longer than {limit} characters"),
    "import.reason.unknown_service": ("service de police inconnu", "unknown police service"),
    "import.reason.municipality_code": (
        "code de municipalité invalide (5 chiffres attendus)",
        "invalid municipality code (5 digits expected)",
    ),
    "import.reason.municipality_outside_service": (
        "municipalité non desservie par ce service de police à cette date",
        "municipality not served by this police service on that date",
    ),
    "import.reason.timestamp": (
        "date et heure invalides (attendu AAAA-MM-JJ HH:MM[:SS], suivi au besoin de Z ou ±HH:MM)",
        "invalid timestamp (expected YYYY-MM-DD HH:MM[:SS], optionally followed by Z or ±HH:MM)",
    ),
    "import.reason.boolean": (
        "valeur oui/non invalide (oui/non, o/n, vrai/faux, 1/0, true/false, yes/no, y/n)",
        "invalid yes/no value (true/false, yes/no, y/n, 1/0, oui/non, o/n, vrai/faux)",
    ),
    "import.reason.arrested_at_required": (
        "obligatoire quand arrest est vrai",
        "required when arrest is true",
    ),
    "import.reason.arrested_at_not_empty": (
        "doit être vide quand arrest est faux",
        "must be empty when arrest is false",
    ),
    "import.reason.arrested_before_occurred": ("antérieur à occurred_at", "earlier than occurred_at"),
    "import.reason.after_stored_attempts": (
        "postérieur à une tentative de contact déjà enregistrée pour cet événement",
        "later than an outreach attempt already stored for this event",
    ),
    "import.reason.choice": ("valeur non permise (attendu : {allowed})", "value not allowed (expected: {allowed})"),
    "import.reason.unknown_event": (
        "aucune intervention de ce service de police porte ce numéro (importez d'abord les interventions)",
        "no intervention of this police service has this event_id (import the interventions first)",
    ),
    "import.reason.attempt_before_intervention": (
        "antérieur à l'arrestation (ou à l'intervention s'il n'y a pas eu d'arrestation)",
        "earlier than the arrest (or than the intervention when there was no arrest)",
    ),
    "import.reason.duplicate_key": (
        "clé déjà présente à la ligne {line} de ce fichier",
        "key already on line {line} of this file",
    ),
    "import.reason.extra_values": (
        "plus de valeurs que de colonnes dans l'en-tête",
        "more values than the header has columns",
    ),
    "import.file.demo_data": (
        "la base contient {count} interventions de démonstration : les données réelles ne s'y mêlent pas. "
        "Ajoutez --replace-demo pour retirer les données de démonstration avant l'importation",
        "the database holds {count} demo interventions: real data does not mix with them. Add --replace-demo to "
        "remove the demo data before the import",
    ),
    "import.file.real_data": (
        "la base contient {count} interventions réelles : les données de démonstration ne s'y mêlent pas",
        "the database holds {count} real interventions: demo data does not mix with them",
    ),
    "import.reason.subject_key_characters": (
        "clé de sujet invalide : lettres, chiffres et - _ . / : # seulement, sans espace (jamais un nom)",
        "invalid subject key: letters, digits and - _ . / : # only, no space (never a name)",
    ),
    "import.file.pseudonym_key.missing": (
        "aucune clé de pseudonymisation (RELAIS_PSEUDONYM_KEYS) : les clés de sujet ne sont jamais enregistrées "
        "telles quelles. Créez-en une avec {recipe} et gardez-la hors de la base",
        "no pseudonym key (RELAIS_PSEUDONYM_KEYS): subject keys are never stored as written. Make one with "
        "{recipe} and keep it out of the database",
    ),
    "import.file.pseudonym_key.mismatch": (
        "les clés de pseudonymisation (RELAIS_PSEUDONYM_KEYS) ne sont pas celles des pseudonymes enregistrés : les "
        "sujets déjà connus ne seraient plus reliés. Après un rekey, ajoutez la nouvelle clé à la fin de la liste",
        "the pseudonym keys (RELAIS_PSEUDONYM_KEYS) are not those of the stored pseudonyms: known subjects would no "
        "longer link. After a rekey, append the new key to the list",
    ),
    "import.file.pseudonym_key.weak": (
        "la clé de pseudonymisation la plus récente (la dernière de RELAIS_PSEUDONYM_KEYS) se devine (moins de 128 "
        "bits de hasard estimés, ou moins de 16 caractères différents) : quiconque la devine retrouve les numéros "
        "derrière les pseudonymes. Créez-en une avec {recipe}, passez-la à rekey (RELAIS_NEW_PSEUDONYM_KEY), puis "
        "ajoutez-la à la fin de la liste",
        "the newest pseudonym key (the last of RELAIS_PSEUDONYM_KEYS) can be guessed (fewer than 128 bits of "
        "randomness estimated, or fewer than 16 different characters): whoever guesses it finds the record numbers "
        "behind the pseudonyms. Make one with {recipe}, give it to rekey (RELAIS_NEW_PSEUDONYM_KEY), then append it "
        "to the list",
    ),
    "import.file.pseudonym_key.public": (
        "une clé de pseudonymisation (RELAIS_PSEUDONYM_KEYS) est une valeur publiée (la clé de la démo, un exemple), "
        "connue de tous : elle ne pseudonymise que la démo. Créez-en une avec {recipe}",
        "a pseudonym key (RELAIS_PSEUDONYM_KEYS) is a published value (the demo's key, an example), known to "
        "everyone: it pseudonymises the demo only. Make one with {recipe}",
    ),
    "import.reason.timestamp_range": (
        "date hors des limites : à l'heure du Québec, elle doit tomber du {first} au {last}",
        "date out of range: in Quebec time, it must fall from {first} to {last}",
    ),
    "import.reason.control_character": (
        "caractère de contrôle (NUL, tabulation, retour…) refusé dans une valeur",
        "control character (NUL, tab, carriage return…) refused in a value",
    ),
    "import.reason.other_service": (
        "ligne d'un autre service de police que celui de l'importation ({service})",
        "row of another police service than the import's ({service})",
    ),
    "import.file.not_utf8": (
        "le fichier n'est pas en UTF-8 (premier caractère invalide à la ligne {line}) : "
        "enregistrez-le au format « CSV UTF-8 »",
        "the file is not UTF-8 (first invalid character on line {line}): save it as \"CSV UTF-8\"",
    ),
    "import.file.malformed": (
        "fichier illisible : un guillemet ouvert n'est jamais fermé",
        "unreadable file: a quotation mark is opened and never closed",
    ),
    "import.file.missing_columns": ("colonne obligatoire absente de l'en-tête", "required column missing from the header"),
    "import.file.repeated_columns": ("colonne présente plusieurs fois dans l'en-tête", "column repeated in the header"),
    "import.rejects.reason": ("{column} : {reason}", "{column}: {reason}"),
    # import: the command's messages
    "import.table.line": ("Ligne", "Line"),
    "import.table.column": ("Colonne", "Column"),
    "import.table.value": ("Valeur", "Value"),
    "import.table.reason": ("Raison", "Reason"),
    "import.progress.checking": ("Vérification", "Checking"),
    "import.progress.writing": ("Écriture", "Writing"),
    "import.progress.unit": ("lignes", "rows"),
    "import.error.no_file": ("fichier introuvable : {path}", "file not found: {path}"),
    "import.error.unreadable": ("impossible de lire {path} : {error}", "cannot read {path}: {error}"),
    "import.error.rejects_unwritable": (
        "impossible d'écrire les lignes refusées dans {path} : {error} (elles sont listées ci-dessus)",
        "cannot write the refused rows to {path}: {error} (they are listed above)",
    ),
    "import.error.database": (
        "la base de données a refusé l'import : {error} (est-elle initialisée ? python -m dashboard init-db)",
        "the database refused the import: {error} (is it initialised? python -m dashboard init-db)",
    ),
    "import.rejected_file": (
        "{file} est refusé en entier ; rien n'a été importé.",
        "{file} is rejected as a whole; nothing was imported.",
    ),
    "import.rejected_rows": (
        "{file} : {problems} problème(s) sur {rows} ligne(s) ; rien n'a été importé.",
        "{file}: {problems} problem(s) on {rows} row(s); nothing was imported.",
    ),
    "import.hint.skip_invalid": (
        "Corrigez ces lignes, ou relancez avec --skip-invalid --rejects FICHIER "
        "pour importer les lignes valides et mettre les autres de côté.",
        "Correct these rows, or run again with --skip-invalid --rejects FILE "
        "to import the valid rows and set the others aside.",
    ),
    "import.done": (
        "{file} : {accepted} ligne(s) importée(s) ({new} nouvelle(s), {replaced} remplacée(s)) en {seconds} s.",
        "{file}: {accepted} row(s) imported ({new} new, {replaced} replaced) in {seconds} s.",
    ),
    "import.set_aside": (
        "{rejected} ligne(s) invalide(s) mise(s) de côté dans {path}.",
        "{rejected} invalid row(s) set aside in {path}.",
    ),
    "import.benchmark.title": (
        "Import de {rows} interventions générées ({megabytes} Mo) dans une base {backend} neuve",
        "Import of {rows} generated interventions ({megabytes} MB) into a fresh {backend} database",
    ),
    "import.benchmark.first": ("1er import", "first import"),
    "import.benchmark.again": ("réimport", "re-import"),
    "import.benchmark.check": ("{label} : lecture et validation", "{label}: parse and validate"),
    "import.benchmark.write": ("{label} : écriture", "{label}: write"),
    "import.benchmark.total": ("{label} : total", "{label}: total"),
    "import.benchmark.per_second": ("lignes/s", "rows/s"),
    "import.benchmark.target": (
        "Objectif : {rows} lignes en moins de {limit} s ; ce rythme les importe en {seconds} s.",
        "Target: {rows} rows in under {limit} s; at this rate they take {seconds} s.",
    ),
    # benchmark load and benchmark browser
    "benchmark.load.target": (
        "Objectif : aucune erreur et 95 % des pages en moins de {seconds} s (réflexion moyenne de {think} s entre "
        "deux actions).",
        "Target: no error and 95 % of pages under {seconds} s (on average {think} s of thought between actions).",
    ),
    "benchmark.load.replicas": (
        "--replicas : au moins 1 processus de l'application.",
        "--replicas: at least 1 app process.",
    ),
    "benchmark.browser.target": (
        "Objectif : chaque page à moins de {ratio} fois la page plancher ({floor} ms) mesurée dans la même exécution.",
        "Target: every page within {ratio} times the floor page ({floor} ms) measured in the same run.",
    ),
    "benchmark.target.met": ("Objectif atteint.", "Target met."),
    "benchmark.target.missed": ("Objectif manqué.", "Target missed."),
    # boundary import (geo import)
    "geo.error.no_file": ("fichier introuvable : {path}", "file not found: {path}"),
    "geo.error.unreadable": ("impossible de lire {path} : {error}", "cannot read {path}: {error}"),
    "geo.error.database": (
        "la base de données a refusé l'import : {error} (est-elle initialisée ? python -m dashboard init-db)",
        "the database refused the import: {error} (is it initialised? python -m dashboard init-db)",
    ),
    "geo.file.not_utf8": ("le fichier n'est pas en UTF-8", "the file is not UTF-8"),
    "geo.file.not_json": (
        "JSON invalide (ligne {line}, colonne {column})",
        "invalid JSON (line {line}, column {column})",
    ),
    "geo.file.not_feature_collection": (
        "ce n'est pas une FeatureCollection GeoJSON (un objet avec \"type\": \"FeatureCollection\" et une liste "
        "\"features\")",
        "not a GeoJSON FeatureCollection (an object with \"type\": \"FeatureCollection\" and a \"features\" list)",
    ),
    "geo.file.empty": ("la FeatureCollection ne contient aucune entité", "the FeatureCollection has no features"),
    "geo.file.unknown_format": (
        "ni un GeoJSON ni un shapefile (archive .zip de .shp, .shx, .dbf, .prj, ou fichier .shp)",
        "neither GeoJSON nor a shapefile (a .zip of .shp, .shx, .dbf, .prj, or a .shp file)",
    ),
    "geo.file.not_zip": ("archive ZIP illisible ({error})", "unreadable ZIP archive ({error})"),
    "geo.file.no_shapefile": (
        "l'archive ne contient aucun shapefile (.shp) ; un GeoJSON s'importe tel quel, sans archive",
        "the archive holds no shapefile (.shp); a GeoJSON file is imported as it is, not zipped",
    ),
    "geo.file.missing_members": (
        "il manque {members} à côté de {layer}.shp (un shapefile, ce sont au moins .shp, .shx et .dbf)",
        "{members} missing beside {layer}.shp (a shapefile is at least .shp, .shx and .dbf)",
    ),
    "geo.file.bad_shapefile": ("shapefile {layer} illisible : {error}", "unreadable shapefile {layer}: {error}"),
    "geo.file.unknown_layer": (
        "aucune couche {layer} dans le fichier ; couches : {layers}",
        "no layer {layer} in the file; layers: {layers}",
    ),
    "geo.file.no_layer": (
        "aucune couche de polygones avec un code de municipalité ({properties}) parmi : {layers}",
        "no polygon layer with a municipality code ({properties}) among: {layers}",
    ),
    "geo.file.several_layers": (
        "plusieurs couches de municipalités : {layers} ; choisissez-en une avec --layer NOM",
        "several municipality layers: {layers}; choose one with --layer NAME",
    ),
    "geo.file.no_prj": (
        "{layer}.prj est absent et les coordonnées (x {x}, y {y}) ne sont pas des longitudes/latitudes : importez "
        "l'archive d'origine, avec son .prj",
        "{layer}.prj is missing and the coordinates (x {x}, y {y}) are not longitudes/latitudes: import the "
        "original archive, with its .prj",
    ),
    "geo.file.unknown_crs": (
        "système de coordonnées inconnu ({source}) : {error}",
        "unknown coordinate system ({source}): {error}",
    ),
    "geo.reason.not_feature": ("n'est pas une entité GeoJSON (Feature)", "not a GeoJSON Feature"),
    "geo.reason.no_geometry": ("entité sans géométrie", "feature without a geometry"),
    "geo.reason.geometry_type": (
        "géométrie de type {type} : Polygon ou MultiPolygon attendu",
        "geometry of type {type}: Polygon or MultiPolygon expected",
    ),
    "geo.reason.coordinates": (
        "coordonnées mal formées (attendu : des anneaux d'au moins 4 positions [longitude, latitude])",
        "malformed coordinates (expected: rings of at least 4 [longitude, latitude] positions)",
    ),
    "geo.reason.ring_open": (
        "anneau non fermé (sa dernière position doit répéter la première)",
        "ring not closed (its last position must repeat the first)",
    ),
    "geo.reason.outside_quebec": (
        "coordonnée ({longitude}, {latitude}) hors du Québec (longitude −80 à −57, latitude 44 à 63) : "
        "probablement pas en longitude/latitude WGS84",
        "coordinate ({longitude}, {latitude}) outside Quebec (longitude −80 to −57, latitude 44 to 63): "
        "probably not WGS84 longitude/latitude",
    ),
    "geo.reason.too_small": (
        "polygone plus petit que la précision conservée (5 décimales, environ 1 m)",
        "polygon smaller than the precision kept (5 decimals, about 1 m)",
    ),
    "geo.table.feature": ("Entité n°", "Feature no."),
    "geo.table.code": ("Code", "Code"),
    "geo.table.reason": ("Raison", "Reason"),
    "geo.and_more": ("{items} et {count} autre(s)", "{items} and {count} more"),
    "geo.rejected_file": (
        "{file} est refusé : {reason} ; rien n'a été importé.",
        "{file} is rejected: {reason}; nothing was imported.",
    ),
    "geo.rejected": (
        "{file} est refusé : {problems} entité(s) invalide(s) ; aucun contour n'a été importé.",
        "{file} is rejected: {problems} invalid feature(s); no boundary was imported.",
    ),
    "geo.hint.reproject": (
        "Les coordonnées doivent être en longitude/latitude WGS84 (EPSG:4326), ou le fichier doit dire son système "
        "(membre crs du GeoJSON, .prj du shapefile). Importez le shapefile zippé d'origine, ou convertissez : "
        "ogr2ogr -t_srs EPSG:4326 sortie.geojson entree.geojson",
        "Coordinates must be WGS84 longitude/latitude (EPSG:4326), or the file must state its system (the GeoJSON "
        "crs member, the shapefile's .prj). Import the original zipped shapefile, or convert: "
        "ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson",
    ),
    "geo.nothing": (
        "{file} : aucune entité ne correspond à une municipalité de la base ; rien n'a été importé.",
        "{file}: no feature matches a municipality in the database; nothing was imported.",
    ),
    "geo.done": (
        "{file} : {features} entité(s) lue(s) ; contours de {imported} municipalité(s) importés "
        "({new} nouveau(x), {replaced} remplacé(s)).",
        "{file}: {features} feature(s) read; boundaries of {imported} municipality(ies) imported "
        "({new} new, {replaced} replaced).",
    ),
    "geo.merged": (
        "{count} municipalité(s) en plusieurs entités, réunies en un MultiPolygon : {codes}.",
        "{count} municipality(ies) in several features, joined into one MultiPolygon: {codes}.",
    ),
    "geo.skipped_unknown": (
        "{count} entité(s) ignorée(s), municipalité absente de la base : {codes}.",
        "{count} feature(s) skipped, municipality not in the database: {codes}.",
    ),
    "geo.skipped_outside": (
        "{count} entité(s) d'une autre province ignorée(s) (PRUID autre que 24, ou code de recensement hors 24xxxxx).",
        "{count} feature(s) of another province skipped (PRUID other than 24, or a census code not 24xxxxx).",
    ),
    "geo.layer": ("Couche lue : {layer}.", "Layer read: {layer}."),
    "geo.converted": (
        "Coordonnées converties de « {crs} » en longitude/latitude WGS84.",
        "Coordinates converted from \"{crs}\" to WGS84 longitude/latitude.",
    ),
    "geo.simplified": (
        "Contours simplifiés à environ 100 m : {kept} sommets conservés sur {read}.",
        "Outlines simplified to about 100 m: {kept} of {read} vertices kept.",
    ),
    "geo.skipped_no_code": (
        "{count} entité(s) ignorée(s), sans code de municipalité reconnu : {features}. Propriétés lues, dans cet "
        "ordre et sans égard à la casse : {properties} (5 chiffres, ou code de recensement 24xxxxx).",
        "{count} feature(s) skipped, no recognised municipality code: {features}. Properties read, in this order "
        "and in any case: {properties} (5 digits, or census code 24xxxxx).",
    ),
    "geo.missing": (
        "{count} municipalité(s) de la base encore sans contour : {municipalities}.",
        "{count} municipality(ies) in the database still without a boundary: {municipalities}.",
    ),
    "geo.complete": (
        "Les {count} municipalités de la base ont toutes un contour.",
        "All {count} municipalities in the database have a boundary.",
    ),
    # demo data
    "demo.error.no_schema": (
        "La base de données {url} n'est pas initialisée : lancez d'abord « python -m dashboard init-db ».",
        "The database {url} is not initialised: run \"python -m dashboard init-db\" first.",
    ),
    "demo.error.real_data": (
        "La base de données contient {count} interventions qui ne sont pas des données de démonstration "
        "(numéro d'événement sans le préfixe DEMO-) : les données de démonstration ne se chargent que dans une "
        "base vide ou de démonstration. Rien n'a été modifié.",
        "The database holds {count} interventions that are not demo data (event number without the DEMO- "
        "prefix): demo data is only loaded into an empty or demo database. Nothing was changed.",
    ),
    "demo.error.import_failed": (
        "L'import des données de démonstration ({kind}) a échoué ; rien n'a été modifié.",
        "Importing the demo data ({kind}) failed; nothing was changed.",
    ),
    "demo.csv_written": (
        "Fichiers CSV écrits : {interventions} et {outreach}.",
        "CSV files written: {interventions} and {outreach}.",
    ),
    "demo.done": (
        "Données de démonstration chargées dans {url} (graine {seed}, du {start} au {end}) :",
        "Demo data loaded into {url} (seed {seed}, from {start} to {end}):",
    ),
    "demo.column.service": ("Service", "Service"),
    "demo.column.year": ("Année", "Year"),
    "demo.column.interventions": ("Interventions", "Interventions"),
    "demo.column.arrests": ("Arrestations", "Arrests"),
    "demo.column.attempts": ("Tentatives de contact", "Contact attempts"),
    "demo.total": ("Total", "Total"),
    # application shell
    "app.organisation": ("Coordination police–communauté", "Police–community coordination"),
    "app.unconfigured.title": ("Connexion non configurée", "Sign-in is not configured"),
    "app.unconfigured.body": (
        "Relais exige une connexion OpenID Connect, et aucun fournisseur n'est configuré.\n\n"
        "Ajoutez une section `[auth]` (`redirect_uri`, `cookie_secret`, `client_id`, `client_secret`, "
        "`server_metadata_url`) à `.streamlit/secrets.toml`, ou nommez un fichier de secrets dans la variable "
        "`STREAMLIT_SECRETS_FILES`. Modèle : `secrets.example.toml`. Pour essayer : `python -m dashboard demo`.",
        "Relais requires OpenID Connect sign-in, and no provider is configured.\n\n"
        "Add an `[auth]` section (`redirect_uri`, `cookie_secret`, `client_id`, `client_secret`, "
        "`server_metadata_url`) to `.streamlit/secrets.toml`, or name a secrets file in the "
        "`STREAMLIT_SECRETS_FILES` variable. Template: `secrets.example.toml`. To try it: `python -m dashboard demo`.",
    ),
    "app.login.title": ("Relais", "Relais"),
    "app.login.body": (
        "Tableau de bord police–communauté en violence conjugale. Connectez-vous avec le compte de votre organisation.",
        "Police–community dashboard on domestic violence. Sign in with your organisation's account.",
    ),
    "app.login.button": ("Se connecter", "Sign in"),
    "app.session.expired": (
        "Votre connexion date de plus de {hours} heures : reconnectez-vous pour continuer. Vos rôles sont alors "
        "relus auprès du fournisseur d'identité.",
        "You signed in more than {hours} hours ago: sign in again to continue. Your roles are then read again "
        "from the identity provider.",
    ),
    "app.session.idle": (
        "Aucune activité depuis plus de {minutes} minutes : reconnectez-vous pour continuer.",
        "No activity for more than {minutes} minutes: sign in again to continue.",
    ),
    "app.session.undated": (
        "Le jeton d'identité ne dit pas quand il a été émis (`iat`) : Relais ne peut pas en limiter la durée et le "
        "refuse. Reconnectez-vous ; si cela se répète, l'administrateur du fournisseur doit corriger le jeton.",
        "The identity token does not say when it was issued (`iat`): Relais cannot bound its lifetime and refuses "
        "it. Sign in again; if this happens again, the provider's administrator must fix the token.",
    ),
    "audit.verify.intact": (
        "Journal d'audit intact : {rows} lignes chaînées. Dernier maillon : ligne {id}, empreinte {hash} "
        "(notez-le ailleurs : une réécriture complète de la chaîne changerait cette empreinte).",
        "Audit trail intact: {rows} chained rows. Last link: row {id}, hash {hash} "
        "(keep it elsewhere: rewriting the whole chain would change this hash).",
    ),
    "import.error.service_required": (
        "la base connaît plusieurs services de police ({services}) : dites de quel service est ce fichier avec "
        "--service CODE",
        "the database knows several police services ({services}): say whose file this is with --service CODE",
    ),
    "import.error.audit": (
        "l'importation n'a pas pu être inscrite au journal d'audit : {error}",
        "the import could not be written to the audit trail: {error}",
    ),
    "command.error.audit": (
        "la commande n'a pas pu être inscrite au journal d'audit : {error}",
        "the command could not be written to the audit trail: {error}",
    ),
    "worker.reason.future": ("dans le futur : une tentative est notée après coup", "in the future: an attempt is "
                             "recorded once made"),
    "worker.reason.unknown_attempt": ("tentative introuvable (déjà retirée ?)", "attempt not found (already withdrawn?)"),
    "worker.reason.not_yours": ("seule la personne qui l'a notée peut la corriger ou la retirer",
                                "only the person who recorded it may correct or withdraw it"),
    "worker.reason.too_late": ("notée il y a plus de {hours} heures : elle ne peut plus être modifiée",
                               "recorded over {hours} hours ago: it can no longer be changed"),
    "worker.reason.other_event": ("une correction ne change pas de dossier", "a correction cannot move to another file"),
    "retention.error.unset": (
        "la durée de conservation de l'organisation n'est pas inscrite dans la base : le propriétaire du schéma "
        "l'inscrit avec « retention --set-period {kind} ANS » ; rien n'est détruit sans elle",
        "the organisation's retention period is not recorded in the database: the schema's owner records it with "
        "`retention --set-period {kind} YEARS`; nothing is destroyed without it",
    ),
    "retention.error.younger": (
        "--older-than {years} est plus court que la durée de conservation ({period} ans) : ces données doivent "
        "être gardées",
        "--older-than {years} is shorter than the retention period ({period} years): that data must be kept",
    ),
    "retention.error.years": (
        "« {value} » : un nombre entier d'années, de 1 à {most}",
        "'{value}': a whole number of years, from 1 to {most}",
    ),
    "retention.error.kind": (
        "« {value} » : --set-period attend data (les interventions) ou audit (le journal d'audit), puis les années",
        "'{value}': --set-period takes data (the interventions) or audit (the audit trail), then the years",
    ),
    "retention.error.set_period_alone": (
        "--set-period ne va ni avec --dry-run ni avec --audit (dites data ou audit après --set-period)",
        "--set-period goes with neither --dry-run nor --audit (say data or audit after --set-period)",
    ),
    "retention.error.shorten_alone": ("--shorten ne va qu'avec --set-period", "--shorten goes only with --set-period"),
    "retention.error.broken": (
        "le journal d'audit ne se vérifie pas : rien n'est détruit (détruire ses lignes les plus anciennes et signer "
        "une nouvelle ancre effacerait la trace de la rupture)",
        "the audit trail does not verify: nothing is destroyed (destroying its oldest rows and signing a new anchor "
        "would erase the trace of the break)",
    ),
    "retention.kind.data": ("des interventions", "of interventions"),
    "retention.kind.audit": ("du journal d'audit", "of the audit trail"),
    "retention.period.first": (
        "Durée de conservation {kind} inscrite : {years} ans.",
        "Retention period {kind} recorded: {years} years.",
    ),
    "retention.period.changed": (
        "Durée de conservation {kind} inscrite : {years} ans (au lieu de {previous}).",
        "Retention period {kind} recorded: {years} years (instead of {previous}).",
    ),
    "retention.period.unchanged": (
        "La durée de conservation {kind} est déjà de {years} ans : rien n'est changé.",
        "The retention period {kind} is already {years} years: nothing is changed.",
    ),
    "retention.period.shorter": (
        "raccourcir la durée de conservation ({previous} → {years} ans) détruirait plus tôt ce que l'organisation a "
        "décidé de garder : si c'est sa décision, recommencez avec --shorten (la modification est consignée)",
        "shortening the retention period ({previous} → {years} years) would destroy sooner what the organisation "
        "decided to keep: if that is its decision, run again with --shorten (the change is recorded)",
    ),
    "retention.period.owner": (
        "seul le propriétaire du schéma (relais_owner) inscrit une durée de conservation : lancez la commande avec "
        "son DATABASE_URL",
        "only the schema's owner (relais_owner) records a retention period: run the command with its DATABASE_URL",
    ),
    "retention.dry.data": (
        "Essai, rien n'est détruit : {interventions} interventions, {attempts} tentatives de contact et "
        "{import_batches} lots d'importation datés d'avant le {cutoff} (plus de {years} ans) le seraient.",
        "Dry run, nothing destroyed: {interventions} interventions, {attempts} contact attempts and "
        "{import_batches} import batches dated before {cutoff} (over {years} years) would be.",
    ),
    "retention.done.data": (
        "Détruits : {interventions} interventions, {attempts} tentatives de contact et {import_batches} lots "
        "d'importation datés d'avant le {cutoff} (plus de {years} ans). La destruction est consignée.",
        "Destroyed: {interventions} interventions, {attempts} contact attempts and {import_batches} import batches "
        "dated before {cutoff} (over {years} years). The destruction is recorded.",
    ),
    "retention.dry.audit": (
        "Essai, rien n'est détruit : {audit_rows} lignes du journal d'audit d'avant le {cutoff} (plus de {years} "
        "ans) le seraient.",
        "Dry run, nothing destroyed: {audit_rows} audit rows from before {cutoff} (over {years} years) would be.",
    ),
    "retention.done.audit": (
        "Détruites : {audit_rows} lignes du journal d'audit d'avant le {cutoff} (plus de {years} ans). La "
        "destruction est consignée ; la chaîne des lignes gardées part de la dernière ligne détruite.",
        "Destroyed: {audit_rows} audit rows from before {cutoff} (over {years} years). The destruction is "
        "recorded; the chain of the rows kept starts from the last row destroyed.",
    ),
    "rekey.error.missing": (
        "il faut la clé actuelle (RELAIS_PSEUDONYM_KEYS) et la nouvelle ({variable}). Créez la nouvelle avec {recipe}",
        "both the current key (RELAIS_PSEUDONYM_KEYS) and the new one ({variable}) are needed. Make the new one with "
        "{recipe}",
    ),
    "rekey.error.weak": (
        "la nouvelle clé ({variable}) se devine (moins de 128 bits de hasard estimés, ou moins de 16 caractères "
        "différents) : c'est d'elle que dépend le secret des pseudonymes. Créez-en une avec {recipe}",
        "the new key ({variable}) can be guessed (fewer than 128 bits of randomness estimated, or fewer than 16 "
        "different characters): the pseudonyms' secrecy rests on it. Make one with {recipe}",
    ),
    "rekey.error.public": (
        "la nouvelle clé ({variable}) est une valeur publiée (la clé de la démo, un exemple), connue de tous. "
        "Créez-en une avec {recipe}",
        "the new key ({variable}) is a published value (the demo's key, an example), known to everyone. Make one "
        "with {recipe}",
    ),
    "rekey.error.mismatch": (
        "RELAIS_PSEUDONYM_KEYS n'est pas la chaîne des pseudonymes enregistrés (un rekey a-t-il déjà été fait ? "
        "ajoutez alors sa clé à la fin de la liste) : rien n'est changé",
        "RELAIS_PSEUDONYM_KEYS is not the chain of the stored pseudonyms (was a rekey already run? then append its "
        "key to the list): nothing is changed",
    ),
    "report.command.error.quarter": ("{start} n'est pas le premier jour d'un trimestre",
                                     "{start} is not the first day of a quarter"),
    "report.command.error.year": ("{start} n'est pas le 1er janvier", "{start} is not 1 January"),
    "report.command.error.custom": ("--period custom demande --to, au plus tôt à la date de --from",
                                    "--period custom needs --to, no earlier than --from"),
    "report.command.error.future": ("la période commence après aujourd'hui ({start})",
                                    "the period starts after today ({start})"),
    "report.command.done": ("Rapport du {start} au {end} écrit dans {path}.",
                            "Report from {start} to {end} written to {path}."),
    "rekey.error.same": (
        "la nouvelle clé ({variable}) est déjà dans RELAIS_PSEUDONYM_KEYS",
        "the new key ({variable}) is already in RELAIS_PSEUDONYM_KEYS",
    ),
    "rekey.done": (
        "{keys} clés de sujet (sur {interventions} interventions) pseudonymisées sous la nouvelle clé. Ajoutez-la "
        "maintenant à la fin de RELAIS_PSEUDONYM_KEYS (séparée par une virgule : {count} clés) partout où Relais "
        "importe, avant la prochaine importation.",
        "{keys} subject keys (on {interventions} interventions) pseudonymised under the new key. Now append it to "
        "RELAIS_PSEUDONYM_KEYS (after a comma: {count} keys) wherever Relais imports, before the next import.",
    ),
    "audit.verify.empty": ("Journal d'audit vide.", "The audit trail is empty."),
    "audit.verify.broken.link": (
        "Chaîne rompue à la ligne {id} (après {rows} lignes intactes) : elle ne suit pas la ligne qui la précède ; "
        "une ligne a été retirée ou insérée.",
        "Chain broken at row {id} (after {rows} intact rows): it does not follow the row before it; a row was "
        "removed or inserted.",
    ),
    "audit.verify.broken.content": (
        "Chaîne rompue à la ligne {id} (après {rows} lignes intactes) : son contenu ne correspond plus à son "
        "empreinte ; elle a été réécrite.",
        "Chain broken at row {id} (after {rows} intact rows): its content no longer matches its hash; it was "
        "rewritten.",
    ),
    "audit.verify.broken.destruction_signature": (
        "Destruction n° {id} falsifiée ou modifiée : elle n'est pas signée avec la clé d'audit, ou sa signature ne "
        "tient plus (ce qu'elle dit avoir détruit, quand ou par qui a pu être changé).",
        "Destruction record {id} forged or altered: it is not signed with the audit key, or its signature no longer "
        "holds (what it says was destroyed, when or by whom may have been changed).",
    ),
    "audit.verify.broken.expected": (
        "La ligne {id} attendue (--expect) manque ou a changé, et aucune destruction signée ne la couvre : des "
        "lignes ont été retirées ou réécrites, avec les points de contrôle qui les couvraient.",
        "Row {id} expected (--expect) is missing or differs, and no signed destruction covers it: rows were "
        "removed or rewritten, with the checkpoints that covered them.",
    ),
    "audit.verify.expect.invalid": (
        "« {value} » n'est pas une ligne ID:EMPREINTE comme l'affiche « audit checkpoint » (un numéro, un "
        "deux-points, 64 chiffres hexadécimaux)",
        "'{value}' is not a row as `audit checkpoint` prints it, ID:HASH (a number, a colon, 64 hex digits)",
    ),
    "audit.verify.broken.time": (
        "Chaîne rompue à la ligne {id} (après {rows} lignes intactes) : sa date n'en est pas une ; elle a été "
        "écrite en contournant les déclencheurs.",
        "Chain broken at row {id} (after {rows} intact rows): its time is not a time; it was written past the "
        "triggers.",
    ),
    "audit.verify.broken.anchor": (
        "Chaîne rompue à son début : l'ancre de la destruction n° {id} n'est pas signée avec la clé d'audit (ou sa "
        "signature ne tient plus) ; des lignes ont pu être retirées par quelqu'un d'autre que « retention ».",
        "Chain broken at its start: the anchor of destruction record {id} is not signed with the audit key (or its "
        "signature no longer holds); rows may have been removed by someone other than `retention`.",
    ),
    "audit.verify.broken.checkpoint_signature": (
        "Point de contrôle n° {id} falsifié ou modifié : sa signature ne tient pas.",
        "Checkpoint {id} forged or altered: its signature does not hold.",
    ),
    "audit.verify.broken.checkpoint_missing": (
        "Point de contrôle n° {id} manquant (ils sont numérotés sans trou) : il a été retiré.",
        "Checkpoint {id} missing (they are numbered without gaps): it was removed.",
    ),
    "audit.verify.broken.checkpoint_row": (
        "Chaîne rompue : le point de contrôle n° {id} a signé la ligne {row}, qui manque ou a changé depuis ; des "
        "lignes qu'il couvrait ont été retirées ou réécrites.",
        "Chain broken: checkpoint {id} signed row {row}, which is missing or has changed since; rows it covered "
        "were removed or rewritten.",
    ),
    "audit.verify.links_hold": (
        "Les liens de la chaîne tiennent : {rows} lignes. Dernier maillon : ligne {id}, empreinte {hash}. Sans la "
        "clé d'audit, ce n'est pas une vérification (voir plus bas).",
        "The chain's links hold: {rows} rows. Last link: row {id}, hash {hash}. Without the audit key this is no "
        "verification (see below).",
    ),
    "audit.verify.start.genesis": (
        "La chaîne part de son origine : aucune ligne n'a été détruite par « retention ».",
        "The chain starts at its origin: no row was destroyed by `retention`.",
    ),
    "audit.verify.start.anchor": (
        "La chaîne part de l'ancre de la destruction n° {id} : les lignes jusqu'à la ligne {row} ont été détruites "
        "par « retention ».",
        "The chain starts at the anchor of destruction record {id}: rows up to row {row} were destroyed by "
        "`retention`.",
    ),
    "audit.verify.checkpoint.latest": (
        "Dernier point de contrôle signé : n° {id} du {when}, ligne {row}. Lignes écrites depuis : {after} ; aucun "
        "point de contrôle ne les couvre encore, et le propriétaire de la base pourrait les retirer sans que cela se "
        "voie.",
        "Latest signed checkpoint: number {id} of {when}, row {row}. Rows written since: {after}; no checkpoint "
        "covers them yet, and the database's owner could remove them unseen.",
    ),
    "audit.verify.checkpoint.none": (
        "Aucun point de contrôle signé : le propriétaire de la base pourrait retirer ou réécrire toutes les lignes "
        "sans que cela se voie. Signez-en un chaque nuit avec « python -m dashboard audit checkpoint ».",
        "No signed checkpoint: the database's owner could remove or rewrite every row unseen. Sign one every night "
        "with `python -m dashboard audit checkpoint`.",
    ),
    "audit.verify.signatures.checked": (
        "Signatures vérifiées avec la clé d'audit : {count}.",
        "Signatures checked with the audit key: {count}.",
    ),
    "audit.verify.signatures.unchecked": (
        "{setting} n'est pas fixée : {count} signatures (ancres et points de contrôle) n'ont pas été vérifiées, et "
        "la chaîne ne l'est donc pas (une ancre posée par qui a retiré les lignes les plus anciennes passerait)",
        "{setting} is not set: {count} signatures (anchors and checkpoints) were not checked, so neither is the "
        "chain (an anchor written by whoever removed the oldest rows would pass)",
    ),
    "audit.key.missing": (
        "{setting} n'est pas fixée : la clé d'audit signe les ancres et les points de contrôle, hors de la base. "
        "Créez-en une avec {recipe}",
        "{setting} is not set: the audit key signs anchors and checkpoints, outside the database. Make one with "
        "{recipe}",
    ),
    "audit.key.public": (
        "{setting} est une valeur publiée : n'importe qui pourrait signer avec elle. Créez-en une avec {recipe}",
        "{setting} is a published value: anyone could sign with it. Make one with {recipe}",
    ),
    "audit.key.weak": (
        "{setting} se devine trop facilement (moins de 128 bits estimés, ou trop peu de caractères différents). "
        "Créez-en une avec {recipe}",
        "{setting} is too easy to guess (under 128 bits estimated, or too few different characters). Make one "
        "with {recipe}",
    ),
    "audit.key.shared": (
        "{setting} est aussi une clé de pseudonymes : la fuite de l'une serait celle de l'autre, et les clés de "
        "pseudonymes vont là où l'on importe. Créez-en une à part avec {recipe}",
        "{setting} is also a pseudonym key: a leak of one would be a leak of both, and pseudonym keys go wherever "
        "files are imported. Make a separate one with {recipe}",
    ),
    "audit.checkpoint.done": (
        "Point de contrôle n° {id} signé : ligne {row}, empreinte {hash}, {rows} lignes. Gardez cette ligne hors "
        "de la base (le journal du minuteur) : elle montre qu'un point de contrôle plus récent a existé. Pour la "
        "vérifier : audit verify --expect {row}:{hash}",
        "Checkpoint {id} signed: row {row}, hash {hash}, {rows} rows. Keep this line outside the database (the "
        "timer's log): it shows that a later checkpoint existed. To check it: audit verify --expect {row}:{hash}",
    ),
    "audit.checkpoint.refused": (
        "le journal d'audit ne se vérifie pas : aucun point de contrôle n'est signé",
        "the audit trail does not verify: no checkpoint is signed",
    ),
    "audit.checkpoint.not_owner": (
        "ce rôle ne peut pas ajouter de point de contrôle : « audit checkpoint » se lance avec l'URL de "
        "relais_owner, le propriétaire du schéma (comme « retention »), jamais avec celle de relais_app",
        "this role may not add checkpoints: run `audit checkpoint` with relais_owner's URL, the schema's owner "
        "(as `retention`), never relais_app's",
    ),
    "demo.error.real_data_served": (
        "la base {url} contient {count} interventions réelles : la démonstration, où chacun se connecte sous "
        "l'identité de son choix, ne la sert pas. Pointez DATABASE_URL vers une autre base",
        "the database {url} holds {count} real interventions: the demo, where anyone signs in as whoever they "
        "like, does not serve it. Point DATABASE_URL at another database",
    ),
    "serve.cookie_secret.missing": (
        "aucun cookie_secret dans la section [auth] des secrets : Relais ne démarre pas sans lui. Créez-en un : {recipe}",
        "no cookie_secret in the [auth] section of the secrets: Relais does not start without one. Make one: {recipe}",
    ),
    "serve.cookie_secret.weak": (
        "le cookie_secret des secrets se devine : moins de 128 bits de hasard estimés, ou moins de 16 caractères "
        "différents ; quiconque le devine signe un témoin avec n'importe quel rôle. Relais refuse de démarrer. "
        "Créez-en un : {recipe}",
        "the cookie_secret in the secrets can be guessed: fewer than 128 bits of randomness estimated, or fewer than "
        "16 different characters; whoever guesses it signs a cookie with any role. Relais refuses to start. "
        "Make one: {recipe}",
    ),
    "serve.cookie_secret.public": (
        "le cookie_secret des secrets est une valeur publiée (secrets.example.toml, la documentation, la démo), "
        "connue de tous. Relais refuse de démarrer. Créez-en un : {recipe}",
        "the cookie_secret in the secrets is a published value (secrets.example.toml, the documentation, the demo), "
        "known to everyone. Relais refuses to start. Make one: {recipe}",
    ),
    "app.cookie_secret.title": ("Configuration non sûre", "Unsafe configuration"),
    "app.cookie_secret.missing": (
        "`cookie_secret` manque dans la section `[auth]` des secrets. Créez-en un avec `{recipe}`.",
        "`cookie_secret` is missing from the `[auth]` section of the secrets. Make one with `{recipe}`.",
    ),
    "app.cookie_secret.weak": (
        "Le `cookie_secret` de la section `[auth]` se devine (moins de 128 bits de hasard estimés, ou moins de "
        "16 caractères différents) : quiconque le devine peut signer un témoin de connexion avec n'importe quel rôle. "
        "Remplacez-le par le résultat de `{recipe}`.",
        "The `cookie_secret` of the `[auth]` section can be guessed (fewer than 128 bits of randomness estimated, or "
        "fewer than 16 different characters): whoever guesses it can sign an identity cookie with any role. Replace "
        "it with the output of `{recipe}`.",
    ),
    "app.cookie_secret.public": (
        "Le `cookie_secret` de la section `[auth]` est une valeur publiée (`secrets.example.toml`, la documentation, "
        "la démo), connue de tous : quiconque peut signer un témoin de connexion avec n'importe quel rôle. "
        "Remplacez-le par le résultat de `{recipe}`.",
        "The `cookie_secret` of the `[auth]` section is a published value (`secrets.example.toml`, the documentation, "
        "the demo), known to everyone: anyone can sign an identity cookie with any role. Replace it with the output "
        "of `{recipe}`.",
    ),
    "app.logout": ("Se déconnecter", "Sign out"),
    "app.signed_in_as": ("Connecté : {name}", "Signed in: {name}"),
    "app.no_access.title": ("Aucun accès", "No access"),
    "app.no_access.body": (
        "Le compte **{account}** (`{subject}`) est bien connecté, mais n'a pas de rôle Relais ou de service de "
        "police attribué. Demandez à l'administrateur de votre organisation de vous en attribuer un.",
        "The account **{account}** (`{subject}`) is signed in but has no Relais role or police service. "
        "Ask your organisation's administrator to assign one.",
    ),
    "page.queue": ("File d'attente", "Queue"),
    "yes": ("Oui", "Yes"),
    "no": ("Non", "No"),
    "queue.tab.offender": ("Hommes arrêtés", "Arrested men"),
    "queue.tab.victim": ("Suivi des victimes", "Victim follow-up"),
    "queue.intro.offender": (
        "Les arrestations des {days} derniers jours dont l'homme n'a pas encore été joint, la plus ancienne "
        "d'abord. Cible : {target} h après l'arrestation. Retrouvez la personne dans le système de la police à partir "
        "du numéro de dossier.",
        "Arrests of the last {days} days whose man has not been reached yet, oldest first. Target: {target} h after "
        "the arrest. Find the person in the police system from the file number.",
    ),
    "queue.intro.victim": (
        "Les interventions des {days} derniers jours dont la victime n'a pas encore eu de suivi, la plus ancienne "
        "d'abord. Cible : {target} h après l'intervention.",
        "Interventions of the last {days} days whose victim has had no follow-up yet, oldest first. Target: "
        "{target} h after the intervention.",
    ),
    "queue.tile.waiting": ("En attente", "Waiting"),
    "queue.tile.overdue": ("En retard", "Overdue"),
    "queue.tile.contacted_today": ("Contactés aujourd'hui", "Contacted today"),
    "queue.tile.overdue.help": ("Au-delà de la cible de {target} h", "Past the {target} h target"),
    "queue.empty": ("Personne n'attend : la file est vide.", "Nobody is waiting: the queue is empty."),
    "queue.director": (
        "Les dossiers eux-mêmes (numéros de dossier) ne sont visibles que des intervenantes de leur service.",
        "The cases themselves (file numbers) are visible to the workers of their service only.",
    ),
    "queue.refreshed": ("Mis à jour à {time}, toutes les {seconds} s.", "Updated at {time}, every {seconds} s."),
    "queue.column.clock": ("Délai", "Time"),
    "queue.column.event_id": ("Dossier", "File"),
    "queue.column.municipality": ("Municipalité", "Municipality"),
    "queue.column.since.offender": ("Arrestation", "Arrest"),
    "queue.column.since.victim": ("Intervention", "Intervention"),
    "queue.column.contact_ban": ("Interdit de contact", "No-contact order"),
    "queue.column.previous": ("Interventions en 12 mois", "Interventions in 12 months"),
    "queue.column.attempts": ("Tentatives", "Attempts"),
    "queue.clock.on_time": ("{hours} · à temps", "{hours} · on time"),
    "queue.clock.due_soon": ("{hours} · bientôt dû", "{hours} · due soon"),
    "queue.clock.overdue": ("{hours} · en retard", "{hours} · overdue"),
    "queue.choose": ("Dossier à traiter", "File to work on"),
    "queue.select": ("Choisissez un dossier pour noter une tentative", "Choose a file to record an attempt"),
    "queue.recent.choose": ("Tentative à corriger ou retirer", "Attempt to correct or withdraw"),
    "queue.form.title": ("Noter une tentative · dossier {event_id}", "Record an attempt · file {event_id}"),
    "queue.form.date": ("Date", "Date"),
    "queue.form.time": ("Heure", "Time"),
    "queue.form.outcome": ("Issue", "Outcome"),
    "queue.form.channel": ("Moyen", "Channel"),
    "queue.form.referral": ("Orientation", "Referral"),
    "queue.form.none": ("—", "—"),
    "queue.form.role.offender": ("Personne jointe : l'homme arrêté", "Person contacted: the arrested man"),
    "queue.form.role.victim": ("Personne jointe : la victime", "Person contacted: the victim"),
    "queue.form.submit": ("Enregistrer la tentative", "Save the attempt"),
    "queue.form.saved": ("Tentative enregistrée ({outcome}).", "Attempt saved ({outcome})."),
    "queue.form.refused": ("La tentative n'est pas enregistrée :", "The attempt is not saved:"),
    "queue.form.forbidden": ("Ce dossier n'est pas de vos services.", "This file is not one of your services'."),
    "queue.close.title": ("Fermer sans joindre", "Close without reaching"),
    "queue.close.confirm": (
        "Je ferme ce dossier sans avoir joint la personne (il compte comme « non joint »).",
        "I close this case without having reached the person (it counts as “not reached”).",
    ),
    "queue.close.button": ("Fermer le dossier", "Close the case"),
    "queue.close.done": ("Dossier {event_id} fermé.", "Case {event_id} closed."),
    "queue.recent.title": ("Mes tentatives des dernières 24 heures", "My attempts of the last 24 hours"),
    "queue.recent.empty": ("Aucune tentative notée dans les dernières 24 heures.",
                           "No attempt recorded in the last 24 hours."),
    "queue.recent.select": ("Choisissez une tentative", "Choose an attempt"),
    "queue.recent.correct": ("Corriger la tentative", "Correct the attempt"),
    "queue.recent.withdraw": ("Retirer la tentative", "Withdraw the attempt"),
    "queue.recent.corrected": ("Tentative corrigée ; l'ancienne valeur est gardée.",
                               "Attempt corrected; the old value is kept."),
    "queue.recent.withdrawn": ("Tentative retirée ; elle reste au journal.", "Attempt withdrawn; it stays on record."),
    "queue.column.recorded_at": ("Notée à", "Recorded at"),
    "queue.column.attempted_at": ("Tentative", "Attempt"),
    "queue.column.outcome": ("Issue", "Outcome"),
    "queue.column.subject_role": ("Personne", "Person"),
    "queue.subject_role.offender": ("homme arrêté", "arrested man"),
    "queue.subject_role.victim": ("victime", "victim"),
    "queue.column.source": ("Source", "Source"),
    "queue.source.hand": ("saisi à la main", "entered by hand"),
    "queue.source.police": ("extrait policier", "police extract"),
    "intake.title": ("Nouveau dossier", "New file"),
    "intake.intro": (
        "Un dossier du rapport de police que vous venez de lire. Il entre dans la file tout de suite, marqué « saisi "
        "à la main », jusqu'à ce que l'extrait policier apporte le même événement : ses valeurs remplacent alors les "
        "vôtres, et vos tentatives restent attachées au dossier.",
        "A file from the police report you have just read. It enters the queue at once, marked “entered by hand”, "
        "until the police extract brings the same event: its values then replace yours, and your attempts stay "
        "attached to the file.",
    ),
    "intake.event_id": ("Numéro d'événement", "Event number"),
    "intake.municipality": ("Municipalité", "Municipality"),
    "intake.municipality.placeholder": ("Choisissez une municipalité", "Choose a municipality"),
    "intake.occurred_date": ("Date de l'intervention", "Date of the intervention"),
    "intake.occurred_time": ("Heure de l'intervention", "Time of the intervention"),
    "intake.arrest": ("Arrestation", "Arrest"),
    "intake.arrested_date": ("Date de l'arrestation", "Date of the arrest"),
    "intake.arrested_time": ("Heure de l'arrestation", "Time of the arrest"),
    "intake.contact_ban": ("Interdit de contact déjà en vigueur", "No-contact order already in force"),
    "intake.subject_key": ("Clé du sujet (numéro de fiche, jamais un nom)", "Subject key (record number, never a name)"),
    "intake.subject_key.help": (
        "Tapée une fois et remplacée aussitôt par son pseudonyme : elle n'est ni gardée, ni affichée, ni journalisée. "
        "Facultative.",
        "Typed once and replaced at once by its pseudonym: it is neither kept, nor shown, nor logged. Optional.",
    ),
    "intake.submit": ("Ajouter à la file", "Add to the queue"),
    "intake.saved": ("Dossier {event_id} ajouté à la file, saisi à la main.",
                     "File {event_id} added to the queue, entered by hand."),
    "intake.refused": ("Le dossier n'est pas enregistré :", "The file is not saved:"),
    "intake.problem": ("{field} : {reason}", "{field}: {reason}"),
    "intake.no_place": ("Aucune municipalité n'est desservie aujourd'hui par vos services.",
                        "No municipality is served today by your services."),
    "intake.reason.exists": ("ce dossier existe déjà", "this file already exists"),
    "intake.reason.future": ("dans le futur : un dossier suit un rapport déjà écrit",
                             "in the future: a file follows a report already written"),
    "intake.field.event_id": ("Numéro d'événement", "Event number"),
    "intake.field.police_service": ("Service de police", "Police service"),
    "intake.field.municipality_code": ("Municipalité", "Municipality"),
    "intake.field.occurred_at": ("Intervention", "Intervention"),
    "intake.field.arrest": ("Arrestation", "Arrest"),
    "intake.field.arrested_at": ("Arrestation", "Arrest"),
    "intake.field.subject_key": ("Clé du sujet", "Subject key"),
    "intake.field.contact_ban": ("Interdit de contact", "No-contact order"),
    "outcome.no_answer": ("Pas de réponse", "No answer"),
    "outcome.wrong_number": ("Mauvais numéro", "Wrong number"),
    "outcome.unsafe_to_leave_message": ("Message non laissé (risque)", "No message left (unsafe)"),
    "outcome.accepted": ("A accepté de l'aide", "Accepted help"),
    "outcome.declined": ("Refus", "Declined"),
    "outcome.already_in_help": ("Refus, déjà en démarche d'aide", "Declined, already in help"),
    "channel.phone": ("Téléphone", "Phone"),
    "channel.in_person": ("En personne", "In person"),
    "channel.sms": ("Texto", "Text message"),
    "channel.other": ("Autre", "Other"),
    "referral.victim_assistance": ("CAVAC (aide aux victimes)", "CAVAC (victim assistance)"),
    "page.overview": ("Vue d'ensemble", "Overview"),
    "page.outreach": ("Suivi", "Outreach"),
    "page.report": ("Rapport", "Report"),
    "page.audit": ("Journal d'audit", "Audit log"),
    "page.definitions": ("Définitions", "Definitions"),
    "page.data": ("Données", "Data"),
    # the administrator's Data page: an upload checked before anything is written, and the history of imports
    "data.upload.title": ("Téléverser un fichier", "Upload a file"),
    "data.upload.intro": (
        "Le fichier est vérifié en entier avant que quoi que ce soit ne soit écrit : chaque problème est listé avec sa "
        "ligne, sa colonne et sa raison. Rien n'est enregistré avant votre clic, et le fichier n'est pas conservé.",
        "The whole file is checked before anything is written: every problem is listed with its line, column and "
        "reason. Nothing is stored before you click, and the file is not kept.",
    ),
    "data.upload.kind": ("Type de fichier", "Kind of file"),
    "data.upload.service": ("Service de police", "Police service"),
    "data.upload.file": ("Fichier CSV", "CSV file"),
    "data.upload.file.help": (
        "Séparateur , ou ; · UTF-8 · au plus {limit} Mo · colonnes décrites dans le contrat de données",
        "Delimiter , or ; · UTF-8 · at most {limit} MB · columns as the data contract describes them",
    ),
    "data.upload.no_service": (
        "Aucun service de police dans votre portée : rien à importer.",
        "No police service in your scope: nothing to import.",
    ),
    "data.upload.checking": ("Vérification de {file}…", "Checking {file}…"),
    "data.upload.writing": ("Importation de {file}…", "Importing {file}…"),
    "data.upload.tile.read": ("Lignes lues", "Rows read"),
    "data.upload.tile.valid": ("Lignes valides", "Valid rows"),
    "data.upload.tile.rejected": ("Lignes refusées", "Rows refused"),
    "data.upload.tile.problems": ("Problèmes", "Problems"),
    "data.upload.checked": ("Vérifié en {seconds} s.", "Checked in {seconds} s."),
    "data.upload.file_problem": (
        "Le fichier entier est refusé : rien ne peut en être importé.",
        "The whole file is refused: nothing of it can be imported.",
    ),
    "data.upload.no_problem": (
        "Aucun problème. Lignes à importer : {rows}.",
        "No problem. Rows to import: {rows}.",
    ),
    "data.upload.problems": (
        "Problèmes trouvés : {problems} (lignes lues : {rows}, valides : {valid}). Corrigez le fichier, ou importez "
        "seulement les lignes valides.",
        "Problems found: {problems} (rows read: {rows}, valid: {valid}). Correct the file, or import only the valid "
        "rows.",
    ),
    "data.upload.rejects": ("Lignes refusées (CSV)", "Refused rows (CSV)"),
    "data.upload.import": ("Importer", "Import"),
    "data.upload.import.help": (
        "Tout le fichier ou rien : possible seulement quand la vérification n'a trouvé aucun problème.",
        "All of the file or nothing: only when the check found no problem.",
    ),
    "data.upload.import_valid": ("Importer les lignes valides", "Import the valid rows"),
    "data.upload.import_valid.help": (
        "Les lignes valides sont écrites, les autres non : téléchargez les lignes refusées pour les corriger.",
        "The valid rows are written, the others are not: download the refused rows to correct them.",
    ),
    "data.upload.done": (
        "{file} importé. Lignes écrites : {accepted} (nouvelles : {new}, remplacées : {replaced}) ; refusées : "
        "{rejected}.",
        "{file} imported. Rows written: {accepted} (new: {new}, replaced: {replaced}); refused: {rejected}.",
    ),
    "data.upload.refused": (
        "{file} refusé : rien n'a été écrit. La base a changé depuis la vérification ; voici ce qu'elle refuse.",
        "{file} refused: nothing was written. The database changed since the check; here is what it refuses.",
    ),
    "data.upload.failed": (
        "L'importation a échoué : rien n'a été écrit. Le journal d'audit en garde la trace.",
        "The import failed: nothing was written. The audit log keeps a trace of it.",
    ),
    "data.upload.forbidden": (
        "Vous ne pouvez pas importer pour ce service de police.",
        "You may not import for this police service.",
    ),
    "data.history.title": ("Historique des importations", "Import history"),
    "data.upload.demo": (
        "Base de démonstration : ces lignes seront importées comme données de démonstration, sous la clé publique de "
        "la démo. Une base réelle ne contient aucune donnée de démonstration.",
        "Demo database: these rows will be imported as demo data, under the demo's public key. A real database holds "
        "no demo data."),
    "data.unconfirmed.title": ("Dossiers saisis à la main non confirmés", "Hand-entered files not yet confirmed"),
    "data.unconfirmed.caption": (
        "Dossiers qu'une intervenante a ouverts elle-même et qu'aucun extrait policier n'a apportés après {days} jours. "
        "Les numéros d'événement restent dans la file des intervenantes : demandez au service de police si son "
        "extrait les omet.",
        "Files a worker opened herself that no police extract has brought after {days} days. The event numbers stay "
        "on the workers' queue: ask the police service whether its extract leaves them out."),
    "data.unconfirmed.none": ("Aucun dossier saisi à la main n'attend de confirmation depuis plus de {days} jours.",
                              "No hand-entered file has waited more than {days} days for confirmation."),
    "data.unconfirmed.some": ("{count} dossier(s) saisi(s) à la main attendent un extrait policier depuis plus de "
                              "{days} jours.",
                              "{count} hand-entered file(s) have waited more than {days} days for a police extract."),
    "data.unconfirmed.column.police_service": ("Service", "Service"),
    "data.unconfirmed.column.municipality": ("Municipalité", "Municipality"),
    "data.unconfirmed.column.entered_at": ("Saisi le", "Entered on"),
    "data.unconfirmed.column.entered_by": ("Saisi par", "Entered by"),
    "data.unconfirmed.column.age_days": ("Jours", "Days"),
    "data.history.caption": (
        "Les {limit} plus récentes, de vos services de police, par tous les canaux.",
        "The latest {limit}, of your police services, through every channel.",
    ),
    "data.history.empty": ("Aucune importation pour l'instant.", "No import yet."),
    "data.history.no_service": ("— (référence)", "— (reference)"),
    "data.history.several_services": ("plusieurs", "several"),
    "data.history.column.started_at": ("Début", "Started"),
    "data.history.column.imported_by": ("Par", "By"),
    "data.history.column.channel": ("Canal", "Channel"),
    "data.history.column.kind": ("Type", "Kind"),
    "data.history.column.police_service": ("Service", "Service"),
    "data.history.column.status": ("Résultat", "Result"),
    "data.history.column.rows_read": ("Lues", "Read"),
    "data.history.column.rows_accepted": ("Acceptées", "Accepted"),
    "data.history.column.rows_rejected": ("Refusées", "Refused"),
    "data.history.column.file_name": ("Fichier", "File"),
    "data.history.column.file_sha256": ("SHA-256", "SHA-256"),
    "data.history.channel.command": ("Commande", "Command"),
    "data.history.channel.upload": ("Téléversement", "Upload"),
    "data.history.channel.drop_folder": ("Dossier de dépôt", "Drop folder"),
    "data.history.channel.form": ("Formulaire", "Form"),
    "data.history.channel.demo": ("Démonstration", "Demo"),
    "data.history.status.imported": ("Importé", "Imported"),
    "data.history.status.partial": ("Partielle", "Partial"),
    "data.history.status.rejected": ("Refusé", "Refused"),
    "data.history.status.failed": ("Échec", "Failed"),
    "data.history.status.duplicate": ("Doublon", "Duplicate"),
    "data.history.kind.interventions": ("Interventions", "Interventions"),
    "data.history.kind.outreach": ("Tentatives de contact", "Outreach attempts"),
    "data.history.kind.referrals": ("Références", "Referrals"),
    "data.history.kind.risk": ("Évaluations du risque", "Risk assessments"),
    "data.history.kind.municipalities": ("Municipalités", "Municipalities"),
    "data.history.kind.organisations": ("Organismes partenaires", "Partner organisations"),
    "page.roles": ("Rôles : {roles}", "Roles: {roles}"),
    "page.services": ("Services de police : {services}", "Police services: {services}"),
    "page.services.all": ("tous", "all"),
    "page.period": ("Période : du {start} au {end}", "Period: {start} to {end}"),
    "overview.empty": (
        "Aucune intervention dans cette période pour ces filtres. Élargissez la période ou les municipalités.",
        "No intervention in this period for these filters. Widen the period or the municipalities.",
    ),
    "overview.weekly": ("Interventions par semaine", "Interventions per week"),
    "overview.map": ("Carte des municipalités", "Map of the municipalities"),
    "overview.map.measure": ("Mesure", "Measure"),
    "overview.map.count": ("Nombre", "Count"),
    "overview.map.rate": ("Taux pour 1 000", "Rate per 1,000"),
    "overview.heatmap": ("Municipalités et semaines", "Municipalities by week"),
    "overview.heatmap.busiest": (
        "Les {shown} municipalités qui comptent le plus d'interventions, sur {total} ; le tableau ci-dessous les montre toutes.",
        "The {shown} municipalities with the most interventions, of {total}; the table below shows them all.",
    ),
    "overview.table": ("Par municipalité", "By municipality"),
    "tile.vs_previous": (
        "La flèche compare à la période précédente de même durée.",
        "The arrow compares with the previous period of the same length.",
    ),
    "tile.vs_last_year": ("Il y a un an : {value} ({change})", "A year ago: {value} ({change})"),
    "table.name": ("Municipalité", "Municipality"),
    "table.population": ("Population 2021", "Population 2021"),
    "table.interventions": ("Interventions", "Interventions"),
    "table.rate_per_1000": ("Taux pour 1 000", "Rate per 1,000"),
    "table.arrests": ("Arrestations", "Arrests"),
    "table.previous": ("Période précédente", "Previous period"),
    "table.change": ("Variation", "Change"),
    "outreach.empty": (
        "Aucune arrestation dans cette période pour ces filtres : pas de cohorte à suivre.",
        "No arrest in this period for these filters: no cohort to follow.",
    ),
    "outreach.funnel": ("De l'arrestation à l'aide acceptée", "From arrest to help accepted"),
    "outreach.delay": ("Délai avant la première tentative", "Time to first attempt"),
    "outreach.within_trend": ("Part contactée en 24 h, par semaine d'arrestation", "Share attempted within 24 h, by week of arrest"),
    "outreach.outcomes": ("Issue du suivi, par mois d'arrestation", "Outcome of outreach, by month of arrest"),
    "outreach.referrals": ("Orientations, par mois", "Referrals, by month"),
    "outreach.no_referrals": ("Aucune orientation enregistrée pour cette cohorte.", "No referral recorded for this cohort."),
    "outreach.victims": ("Suivi des victimes (compté à part)", "Victim follow-ups (counted separately)"),
    "outreach.after": ("Et ensuite ? Nouvelle intervention dans les 12 mois", "What next? A new intervention within 12 months"),
    "outreach.after.too_recent": (
        "Aucune cohorte de cette période n'a encore 12 mois de recul.",
        "No cohort of this period has been followed for 12 months yet.",
    ),
    "outreach.after.caution": (
        "Seuls les hommes arrêtés il y a plus de 12 mois sont comptés. Cette comparaison ne prouve pas que le "
        "programme fonctionne : les hommes qui acceptent de l'aide peuvent différer au départ de ceux qui refusent.",
        "Only men arrested more than 12 months ago are counted. This comparison is not proof that the program works: "
        "men who accept help may differ from the start from those who decline.",
    ),
    "victims.followed_up": ("Victimes suivies", "Victims followed up"),
    "victims.reached": ("Victimes jointes", "Victims reached"),
    "victims.attempts": ("Tentatives auprès des victimes", "Attempts with victims"),
    "victims.share": ("{share} des interventions", "{share} of interventions"),
    # reference data replaced from the Data page: municipalities and partner organisations
    "reference.title": ("Données de référence", "Reference data"),
    "reference.intro": (
        "Les municipalités avec leurs périodes de desserte et les organismes partenaires. Pour les modifier, "
        "téléchargez le fichier, corrigez-le, puis téléversez-le : il est vérifié en entier, et rien n'est écrit "
        "avant votre confirmation.",
        "The municipalities with the periods each service serves them, and the partner organisations. To change "
        "them, download the file, edit it, then upload it: it is checked whole, and nothing is written before you "
        "confirm.",
    ),
    "reference.tab.municipalities": ("Municipalités", "Municipalities"),
    "reference.tab.organisations": ("Organismes partenaires", "Partner organisations"),
    "reference.column.code": ("Code", "Code"),
    "reference.column.name": ("Nom", "Name"),
    "reference.column.police_service": ("Service de police", "Police service"),
    "reference.column.population": ("Population (2021)", "Population (2021)"),
    "reference.column.member_from": ("Depuis le", "Since"),
    "reference.column.member_until": ("Jusqu'au", "Until"),
    "reference.column.kind": ("Type", "Kind"),
    "reference.column.police_services": ("Services de police", "Police services"),
    "reference.no_date": ("—", "—"),
    "reference.empty": ("Aucune ligne.", "No rows."),
    "reference.download": ("Télécharger le fichier (CSV)", "Download the file (CSV)"),
    "reference.upload.municipalities": (
        "Remplacer par un fichier de municipalités (CSV)",
        "Replace with a municipalities file (CSV)",
    ),
    "reference.upload.organisations": (
        "Remplacer par un fichier d'organismes partenaires (CSV)",
        "Replace with a partner organisations file (CSV)",
    ),
    "reference.upload.help": (
        "Les colonnes du fichier téléchargé, séparées par , ou ; (UTF-8), au plus {limit} Mo. Le fichier remplace "
        "toute la liste : une ligne absente est retirée.",
        "The downloaded file's columns, separated by , or ; (UTF-8), at most {limit} MB. The file replaces the "
        "whole list: a row left out is removed.",
    ),
    "reference.problems": (
        "Problèmes : {problems}. Ce fichier ne peut pas remplacer les données actuelles ; rien n'a été écrit.",
        "Problems: {problems}. This file cannot replace the current data; nothing was written.",
    ),
    "reference.summary": (
        "{rows} lignes vérifiées, aucun problème. Le remplacement ajouterait {added}, modifierait {changed} et "
        "retirerait {removed} ; {unchanged} restent inchangés.",
        "{rows} rows checked, no problem. The replacement would add {added}, change {changed} and remove "
        "{removed}; {unchanged} stay as they are.",
    ),
    "reference.codes.added": ("Ajoutés : {codes}", "Added: {codes}"),
    "reference.codes.changed": ("Modifiés : {codes}", "Changed: {codes}"),
    "reference.codes.removed": ("Retirés : {codes}", "Removed: {codes}"),
    "reference.confirm": ("Remplacer les données de référence", "Replace the reference data"),
    "reference.done": (
        "Données de référence remplacées : {added} ajoutés, {changed} modifiés, {removed} retirés.",
        "Reference data replaced: {added} added, {changed} changed, {removed} removed.",
    ),
    "reference.refused": (
        "Refusé au moment d'écrire (les données ont changé depuis la vérification) : rien n'a été écrit.",
        "Refused when writing (the data changed since the check): nothing was written.",
    ),
    "reference.forbidden": (
        "Seul un administrateur de tous les services de police peut remplacer les données de référence.",
        "Only an administrator of every police service can replace the reference data.",
    ),
    "organisation.kind.men_program": ("Programme pour hommes", "Men's program"),
    "organisation.kind.shelter": ("Maison d'hébergement", "Shelter"),
    "organisation.kind.victim_assistance": ("Aide aux victimes", "Victim assistance"),
    "organisation.kind.therapy": ("Thérapie", "Therapy"),
    "organisation.kind.addiction": ("Dépendances", "Addiction services"),
    "organisation.kind.legal": ("Aide juridique", "Legal aid"),
    "organisation.kind.other": ("Autre", "Other"),
    "reference.reason.census_code": (
        "code de recensement invalide (7 chiffres : 24, puis le code de la municipalité)",
        "invalid census code (7 digits: 24, then the municipality code)",
    ),
    "reference.reason.population": (
        "population invalide (nombre entier, 0 ou plus)",
        "invalid population (a whole number, 0 or more)",
    ),
    "reference.reason.latitude": (
        "latitude invalide (nombre entre {low} et {high} : au Québec)",
        "invalid latitude (a number between {low} and {high}: in Quebec)",
    ),
    "reference.reason.longitude": (
        "longitude invalide (nombre entre {low} et {high} : au Québec)",
        "invalid longitude (a number between {low} and {high}: in Quebec)",
    ),
    "reference.reason.date": ("date invalide (AAAA-MM-JJ attendu)", "invalid date (YYYY-MM-DD expected)"),
    "reference.reason.until_before_from": ("antérieure à member_from", "earlier than member_from"),
    "reference.reason.differs": (
        "diffère de la ligne {line} pour la même municipalité",
        "differs from line {line} for the same municipality",
    ),
    "reference.reason.overlap": (
        "période qui chevauche celle de la ligne {line} (même municipalité, même service)",
        "period overlapping the one on line {line} (same municipality, same service)",
    ),
    "reference.reason.organisation_code": (
        "code invalide (1 à 16 caractères parmi A-Z, 0-9 et -)",
        "invalid code (1 to 16 characters among A-Z, 0-9 and -)",
    ),
    "reference.reason.unknown_services": ("service de police inconnu : {codes}", "unknown police service: {codes}"),
    "reference.reason.repeated_service": ("service nommé deux fois : {codes}", "service named twice: {codes}"),
    "reference.file.empty": (
        "le fichier n'a aucune ligne de données : il retirerait tout",
        "the file has no data rows: it would remove everything",
    ),
    "reference.refused.removed_interventions": (
        "absente du fichier, mais {count} interventions enregistrées y ont eu lieu : elle ne peut pas être retirée",
        "missing from the file, but {count} stored interventions took place there: it cannot be removed",
    ),
    "reference.refused.removed_rows": (
        "absent du fichier, mais des données enregistrées y renvoient ({tables}) : il ne peut pas être retiré",
        "missing from the file, but stored data refer to it ({tables}): it cannot be removed",
    ),
    "reference.refused.unserved": (
        "{count} interventions enregistrées du {service} ici, du {first} au {last}, ne seraient plus dans une "
        "période où ce service dessert la municipalité",
        "{count} stored interventions of {service} here, from {first} to {last}, would fall outside every period "
        "in which this service serves the municipality",
    ),
    "download.csv": ("Télécharger (CSV)", "Download (CSV)"),
    "filter.title": ("Filtres", "Filters"),
    "filter.period": ("Période", "Period"),
    "filter.preset.last_12_weeks": ("12 dernières semaines", "Last 12 weeks"),
    "filter.preset.this_year": ("Cette année", "This year"),
    "filter.preset.last_year": ("L'an dernier", "Last year"),
    "filter.preset.last_12_months": ("12 derniers mois", "Last 12 months"),
    "filter.preset.custom": ("Dates au choix", "Custom dates"),
    "filter.dates": ("Du … au …", "From … to …"),
    "filter.service": ("Service de police", "Police service"),
    "filter.all_services": ("Tous mes services", "All my services"),
    "filter.municipalities": ("Municipalités", "Municipalities"),
    "filter.all_municipalities": ("Toutes", "All"),
    "app.language": ("Langue", "Language"),
    "role.captain": ("capitaine", "captain"),
    "role.director": ("direction de programme", "program director"),
    "role.worker": ("intervenant·e", "outreach worker"),
    "role.funder": ("bailleur de fonds", "funder"),
    "role.admin": ("administration", "administrator"),
    "role.command": ("ligne de commande", "command line"),
    "audit.column.occurred_at": ("Quand", "When"),
    "audit.column.subject": ("Personne", "Person"),
    "audit.column.roles": ("Rôles", "Roles"),
    "audit.column.action": ("Action", "Action"),
    "audit.column.page": ("Page", "Page"),
    "audit.column.filters": ("Filtres", "Filters"),
    "audit.column.detail": ("Détail", "Detail"),
    "audit.period": ("Période", "Period"),
    "audit.action.view": ("consultation", "view"),
    "audit.action.export": ("téléchargement", "download"),
    "audit.action.search": ("recherche dans le journal", "audit log search"),
    "audit.action.sign_in": ("connexion", "sign-in"),
    "audit.action.sign_out": ("déconnexion", "sign-out"),
    "audit.action.session_refused": ("session refusée (expirée ou inactive)", "session refused (expired or idle)"),
    "audit.action.refused": ("page refusée", "page refused"),
    "audit.action.metrics": ("commande metrics", "metrics command"),
    "audit.action.import": ("importation", "import"),
    "audit.action.retention": ("destruction (conservation)", "destruction (retention)"),
    "audit.action.retention_period": ("durée de conservation inscrite", "retention period recorded"),
    "audit.action.checkpoint": ("point de contrôle signé du journal", "audit checkpoint signed"),
    "audit.action.attempt": ("tentative notée", "attempt recorded"),
    "audit.action.attempt_corrected": ("tentative corrigée", "attempt corrected"),
    "audit.action.attempt_withdrawn": ("tentative retirée", "attempt withdrawn"),
    "audit.action.case_closed": ("dossier fermé sans joindre", "case closed, not reached"),
    "audit.action.case_entered": ("dossier saisi à la main", "case entered by hand"),
    "audit.action.report": ("commande report", "report command"),
    "audit.action.alerts": ("commande alerts", "alerts command"),
    "audit.action.alert_sent": ("alerte envoyée", "alert sent"),
    "audit.action.init_db": ("commande init-db (schéma et données de référence)",
                             "init-db command (schema and reference data)"),
    "audit.action.geo_import": ("importation des contours municipaux", "municipal boundaries import"),
    "audit.action.demo_data": ("données de démonstration remplacées", "demo data replaced"),
    "audit.action.ingest": ("fichier du dossier de dépôt", "drop folder file"),
    "audit.action.freshness": ("fraîcheur des données", "data freshness"),
    "audit.action.admin_mail": ("courriel aux administrateurs", "e-mail to the administrators"),
    "audit.action.reference_replaced": ("données de référence remplacées", "reference data replaced"),
    "admin_mail.not_configured": (
        "Aucun courriel envoyé (RELAIS_ADMIN_EMAILS ou RELAIS_SMTP_URL non défini) : {subject}",
        "No e-mail sent (RELAIS_ADMIN_EMAILS or RELAIS_SMTP_URL not set): {subject}",
    ),
    "alerts.subject": ("Relais · semaine {week} : {count} semaine(s) inhabituelle(s)",
                       "Relais · week {week}: {count} unusual municipality-week(s)"),
    "alerts.intro": ("Municipalités au-dessus de leur plage habituelle, semaine {week} :",
                     "Municipalities above their usual range, week {week}:"),
    "alerts.none": ("rien d'inhabituel", "nothing unusual"),
    "alerts.line": ("{municipality} : {count} interventions (attendu {expected}, limite haute {upper})",
                    "{municipality}: {count} interventions (expected {expected}, upper end {upper})"),
    "alerts.footer": (
        "Message automatique de Relais : des nombres et des municipalités seulement, aucun dossier ni aucune "
        "personne. Pour ne plus le recevoir, demandez à l'administrateur de Relais.",
        "An automatic message from Relais: counts and municipalities only, no file and no person. To stop "
        "receiving it, ask Relais's administrator.",
    ),
    "alerts.error.week": ("semaine invalide : {week} (attendu AAAA-Sss, p. ex. 2026-W48)",
                          "invalid week: {week} (expected YYYY-Www, e.g. 2026-W48)"),
    "alerts.error.smtp_url": (
        "RELAIS_SMTP_URL doit être smtp://utilisateur:motdepasse@hôte:587 (STARTTLS), smtps://utilisateur:motdepasse"
        "@hôte:465 (TLS dès la connexion) ou smtp+plain://127.0.0.1:port",
        "RELAIS_SMTP_URL must be smtp://user:password@host:587 (STARTTLS), smtps://user:password@host:465 (TLS from "
        "the start) or smtp+plain://127.0.0.1:port",
    ),
    "alerts.error.ca_file": (
        "RELAIS_SMTP_CA_FILE ({path}) n'est pas un fichier de certificats PEM lisible : {error}",
        "RELAIS_SMTP_CA_FILE ({path}) is not a readable PEM file of certificates: {error}",
    ),
    "alerts.error.certificate": (
        "le certificat du relais {host} n'est pas vérifié ({reason}) : rien n'est envoyé, ni le mot de passe ni les "
        "messages. Si le relais a un certificat d'une autorité interne, donnez le certificat de cette autorité dans "
        "RELAIS_SMTP_CA_FILE",
        "the certificate of the relay {host} could not be verified ({reason}): nothing is sent, neither the password "
        "nor the messages. If the relay has a certificate from an internal authority, give that authority's "
        "certificate in RELAIS_SMTP_CA_FILE",
    ),
    "alerts.error.plain_login": (
        "la connexion au relais {host} n'est pas chiffrée : l'identifiant et le mot de passe n'y sont pas envoyés",
        "the connection to the relay {host} is not encrypted: the user name and password are not sent to it",
    ),
    "alerts.error.plain_remote": (
        "smtp+plain (sans chiffrement) n'est permis que vers cette machine, pas vers {host}",
        "smtp+plain (unencrypted) is allowed to this machine only, not to {host}",
    ),
    "alerts.error.subscription": ("abonnement illisible : {entry} (attendu adresse=CODE,CODE)",
                                  "unreadable subscription: {entry} (expected address=CODE,CODE)"),
    "alerts.error.no_starttls": ("le serveur {host} n'offre pas STARTTLS : rien n'est envoyé en clair",
                                 "the server {host} does not offer STARTTLS: nothing is sent unencrypted"),
    "alerts.error.send": ("envoi à {address} impossible : {error}", "could not send to {address}: {error}"),
    "audit.action.rekey": ("changement de clé des pseudonymes", "pseudonym re-keying"),
    "audit.column.services": ("Services", "Services"),
    "audit.subject": ("Personne", "Person"),
    "audit.action": ("Action", "Action"),
    "audit.all": ("Toutes", "All"),
    "audit.empty": ("Aucune entrée pour ces filtres.", "No entry for these filters."),
    "definitions.intro": (
        "Chaque chiffre de Relais, sur chaque page, dans chaque export et à la ligne de commande, vient des mêmes "
        "requêtes, selon ces définitions.",
        "Every figure in Relais, on every page, in every export and on the command line, comes from the same "
        "queries, with these definitions.",
    ),
    "definitions.section.time": ("Dates et semaines", "Dates and weeks"),
    "definitions.empty_denominator": (
        "Un taux, une part ou une médiane sans dénominateur (aucun cas) n'est pas affiché, jamais comme zéro.",
        "A rate, share or median with an empty denominator (no case) is not shown, never as zero.",
    ),
    "definition.time": (
        "Les heures sont conservées en UTC et lues à l'heure du Québec (America/Toronto). Une période va d'une date "
        "locale à une autre, incluses. Une semaine est la semaine ISO (lundi à dimanche) de la date locale, notée "
        "AAAA-Sss.",
        "Times are stored in UTC and read in Quebec time (America/Toronto). A period runs from one local date to "
        "another, both included. A week is the ISO week (Monday to Sunday) of the local date, written YYYY-Www.",
    ),
    "demo.serve.ready": (
        "Relais : {url}  (fournisseur d'identité de démonstration, local seulement : {issuer})\n"
        "Connectez-vous avec l'un de ces identifiants (champ « sub », sans mot de passe) :",
        "Relais: {url}  (demo identity provider, local only: {issuer})\n"
        "Sign in with one of these identifiers (the \"sub\" field, no password):",
    ),
    "demo.serve.stop": ("Ctrl-C pour tout arrêter.", "Ctrl-C stops everything."),
    "demo.serve.stopped": ("Arrêté.", "Stopped."),
    "demo.serve.drop_folder": (
        "Dossier de dépôt surveillé : {folder}\n"
        "  Déposez-y un fichier, p. ex. : python -m dashboard demo-data --write-csv data/csv, puis copiez\n"
        "  data/csv/{new_arrests} dans {example} : ses arrestations arrivent dans la file\n"
        "  de l'intervenante (RIPRSL). Rapports dans done/ et failed/.",
        "Watched drop folder: {folder}\n"
        "  Drop a file in it, e.g.: python -m dashboard demo-data --write-csv data/csv, then copy\n"
        "  data/csv/{new_arrests} into {example}: its arrests reach the worker's queue\n"
        "  (RIPRSL). Reports in done/ and failed/.",
    ),
    "demo.new_arrests_written": (
        "Nouvelles arrestations à déposer (non chargées) : {path}",
        "New arrests to drop (not loaded): {path}",
    ),
    # the drop folder
    "ingest.watching": ("Surveillance de {folder} ({mechanism}). Ctrl-C ou SIGTERM pour arrêter.",
                        "Watching {folder} ({mechanism}). Ctrl-C or SIGTERM stops."),
    "ingest.inotify": ("événements du système de fichiers, inotify", "file system events, inotify"),
    "ingest.polling": ("lecture du dossier toutes les {seconds} s", "folder read every {seconds} s"),
    "ingest.stopped": ("Surveillance arrêtée.", "Watching stopped."),
    "ingest.stale_check_failed": ("La vérification des données en retard a échoué ({error}) ; nouvel essai plus tard.",
                                  "The check for late data failed ({error}); it will be tried again later."),
    "ingest.error.poll": ("--poll attend un nombre de secondes entre 0,1 et 3600 : {value}",
                          "--poll expects a number of seconds from 0.1 to 3600: {value}"),
    "ingest.misplaced": (
        "ignoré : {path} (déposer dans incoming/<SERVICE>/<type>/, p. ex. incoming/RIPRSL/interventions/)",
        "ignored: {path} (drop into incoming/<SERVICE>/<kind>/, e.g. incoming/RIPRSL/interventions/)",
    ),
    "ingest.not_regular": (
        "ignoré : {path} (pas un fichier ordinaire : lien symbolique, tube ou périphérique, jamais lu ; "
        "déposer le fichier lui-même)",
        "ignored: {path} (not a regular file: a symbolic link, pipe or device, never read; drop the file itself)",
    ),
    "ingest.still_growing": (
        "{count} fichier(s) encore en cours d'écriture, laissé(s) pour le prochain passage.",
        "{count} file(s) still being written, left for the next run.",
    ),
    "ingest.error.database": (
        "{file} : erreur de la base de données, le fichier reste dans incoming/ et sera repris : {error}",
        "{file}: database error, the file stays in incoming/ and will be taken again: {error}",
    ),
    "ingest.reason.unknown_service": (
        "Dossier de service inconnu : {folder} (services connus : {services}).",
        "Unknown service folder: {folder} (known services: {services}).",
    ),
    "ingest.reason.unknown_kind": (
        "Type de fichier inconnu : {folder} (attendu : {kinds}).",
        "Unknown kind of file: {folder} (expected: {kinds}).",
    ),
    "ingest.reason.kind_not_yet": (
        "Cette version de Relais ne sait pas encore importer les fichiers {kind}.",
        "This version of Relais cannot import {kind} files yet.",
    ),
    "ingest.reason.database": ("erreur de la base de données ({error})", "database error ({error})"),
    "ingest.reason.database_refused": (
        "La base de données a refusé l'importation ({error}) ; le fichier est mis de côté et ne sera pas repris.",
        "The database refused the import ({error}); the file is set aside and will not be taken again.",
    ),
    "ingest.reason.unexpected": ("Erreur inattendue à l'importation ({error}).",
                                 "Unexpected error during the import ({error})."),
    "ingest.outcome.done": ("Importé : {file} (service {service}, {kind}).",
                            "Imported: {file} (service {service}, {kind})."),
    "ingest.outcome.failed": ("Refusé : {file} (service {service}, {kind}). Rien n'a été écrit.",
                              "Refused: {file} (service {service}, {kind}). Nothing was written."),
    "ingest.outcome.left": ("En attente : {file} (service {service}, {kind}). Rien n'a été écrit.",
                            "Waiting: {file} (service {service}, {kind}). Nothing was written."),
    "ingest.outcome.duplicate": ("Déjà importé : {file} (service {service}, {kind}). Rien n'a été réimporté.",
                                 "Already imported: {file} (service {service}, {kind}). Nothing was imported again."),
    "ingest.counts": (
        "Lignes lues : {read} ; importées : {accepted} ({new} nouvelles, {replaced} remplacées) ; rejetées : {rejected}.",
        "Rows read: {read}; imported: {accepted} ({new} new, {replaced} replaced); rejected: {rejected}.",
    ),
    "ingest.duplicate_of": ("Mêmes octets (SHA-256) que le lot {batch}.", "Same bytes (SHA-256) as batch {batch}."),
    "ingest.received": ("Reçu le {when} (UTC) ; SHA-256 {sha256}.", "Received {when} (UTC); SHA-256 {sha256}."),
    "ingest.mail.subject": ("Relais : fichier refusé ({service}, {file})", "Relais: file refused ({service}, {file})"),
    "ingest.mail.subject.left": ("Relais : base de données injoignable, fichier en attente ({service}, {file})",
                                 "Relais: database unreachable, file waiting ({service}, {file})"),
    "ingest.mail.tries": (
        "{tries} essais de suite ont échoué ; le prochain dans {seconds} s, puis au plus toutes les {most} s.",
        "{tries} tries in a row failed; the next in {seconds} s, then at most every {most} s.",
    ),
    "ingest.mail.where.left": (
        "Le fichier reste dans incoming/ ; il sera importé dès que la base de données répondra.",
        "The file stays in incoming/; it will be imported as soon as the database answers.",
    ),
    "ingest.mail.problem": ("  ligne {line}, colonne {column} : {reason}", "  line {line}, column {column}: {reason}"),
    "ingest.mail.more": ("  … et {count} autre(s) problème(s).", "  … and {count} more problem(s)."),
    "ingest.mail.where": ("Le fichier et son rapport complet sont dans le dossier failed/ du dossier de dépôt.",
                          "The file and its full report are in the drop folder's failed/ folder."),
    "ingest.line.done": ("importé   {file} → {moved} : {accepted} ligne(s), {rejected} rejetée(s)",
                         "imported  {file} → {moved}: {accepted} row(s), {rejected} rejected"),
    "ingest.line.failed": ("refusé    {file} → {moved} : {rejected} ligne(s) rejetée(s) {reason}",
                           "refused   {file} → {moved}: {rejected} row(s) rejected {reason}"),
    "ingest.line.duplicate": ("en double {file} → {moved} : déjà importé, rien de réimporté",
                              "duplicate {file} → {moved}: already imported, nothing imported again"),
    "ingest.line.left": ("reporté   {file} : {reason}, laissé dans incoming/",
                         "postponed {file}: {reason}, left in incoming/"),
    # metrics
    "metrics.error.from_after_to": (
        "la date de début ({start}) est postérieure à la date de fin ({end})",
        "the start date ({start}) is after the end date ({end})",
    ),
    "metrics.error.date_range": ("date hors limites : {value} (de {first} à {last})",
                                 "date out of range: {value} (from {first} to {last})"),
    "metrics.error.bad_date": (
        "date invalide : « {value} » (attendu AAAA-MM-JJ)",
        "invalid date: \"{value}\" (expected YYYY-MM-DD)",
    ),
    "metrics.error.unknown_service": (
        "service de police inconnu : {code}",
        "unknown police service: {code}",
    ),
    "metrics.error.unknown_municipality": (
        "municipalité inconnue : {code}",
        "unknown municipality: {code}",
    ),
    "metrics.error.municipality_outside_service": (
        "la municipalité {code} n'est pas desservie par le service {service}",
        "municipality {code} is not served by police service {service}",
    ),
    "metrics.title": (
        "Indicateurs du {start} au {end}",
        "Metrics from {start} to {end}",
    ),
    "metrics.scope": ("Portée : {scope}", "Scope: {scope}"),
    "metrics.scope.all": ("tous les services", "all services"),
    "metrics.section.interventions": ("Interventions", "Interventions"),
    "metrics.section.outreach": ("Suivi après arrestation (auteurs présumés)", "Outreach after arrest (alleged offenders)"),
    "metrics.section.by_municipality": ("Par municipalité", "By municipality"),
    "metrics.section.by_week": ("Par semaine", "By week"),
    "metrics.hours": ("{value} h", "{value} h"),
    "metrics.none": ("—", "—"),
    # charts: axis, legend and tooltip titles (dashboard/charts.py)
    "chart.format.day": ("%-d %b", "%b %-d"),
    "chart.format.date": ("%-d %b %Y", "%b %-d, %Y"),
    "chart.format.month": ("%B %Y", "%B %Y"),
    "chart.format.month_short": ("%b %Y", "%b %Y"),
    "chart.pair": ("{label} : {value}", "{label}: {value}"),
    "chart.count_and_share": ("{count} ({share})", "{count} ({share})"),
    "chart.week": ("Semaine", "Week"),
    "chart.iso_week": ("Semaine ISO", "ISO week"),
    "chart.week_start": ("Semaine du", "Week of"),
    "chart.month": ("Mois", "Month"),
    "chart.month_start": ("Mois", "Month"),
    "chart.quarter": ("Trimestre (début)", "Quarter (start)"),
    "chart.quarter_start": ("Trimestre commençant en", "Quarter starting in"),
    "overview.heatmap.monthly": (
        "Sur une période de plus d'un an, une colonne par mois ; de plus de trois ans, une par trimestre.",
        "Over more than a year, one column per month; over more than three years, one per quarter.",
    ),
    "filter.clamped": (
        "Le lien demandait des dates hors de la plage offerte ({first} au {last}) : la période a été ramenée à "
        "{start} – {end}.",
        "The link asked for dates outside the range offered ({first} to {last}): the period was brought back to "
        "{start} – {end}.",
    ),
    "chart.series": ("Série", "Series"),
    "chart.interventions": ("Interventions", "Interventions"),
    "chart.rolling_average": ("Moyenne mobile sur 4 semaines", "4-week rolling average"),
    "chart.last_year": ("Mêmes semaines l'an dernier", "Same weeks last year"),
    "chart.expected": ("Attendu", "Expected"),
    "chart.upper": ("Limite haute de la plage habituelle", "Upper end of the usual range"),
    "overview.band": (
        "Bande orangée : la plage habituelle de chaque semaine, de l'attendu à sa limite haute, calculée sur les mêmes "
        "semaines des années précédentes (voir Définitions).",
        "Orange band: each week's usual range, from the expected count to its upper end, computed from the same weeks "
        "of earlier years (see Definitions).",
    ),
    "overview.unusual": ("Semaines inhabituelles", "Unusual weeks"),
    "overview.heatmap.unusual": ("Les cases encadrées d'un trait épais sont des semaines inhabituelles.",
                                 "Cells with a thick outline are unusual weeks."),
    "definition.expected_range": (
        "**Plage habituelle d'une semaine** — pour chaque municipalité (et pour le total affiché), le nombre "
        "d'interventions attendu cette semaine-là est estimé sur les cinq années précédentes : un modèle de Poisson "
        "surdispersé avec une tendance (gardée seulement si elle est significative), un niveau pour les mêmes semaines "
        "du calendrier (trois semaines de part et d'autre) et neuf autres périodes de l'année, la population en "
        "décalage ; les semaines passées très au-dessus de leur attendu pèsent moins (une ancienne flambée ne relève "
        "pas la barre), et les 26 dernières semaines ne servent pas (une hausse en cours ne se cache pas elle-même). "
        "La limite haute est le 99e centile de la loi binomiale négative de cet attendu (méthode de Farrington "
        "améliorée, Noufaily et al., 2013). Une semaine est **inhabituelle** quand elle dépasse cette limite et que "
        "les 4 dernières semaines comptent au moins 5 interventions. Quand la municipalité a moins de deux ans "
        "d'historique, la méthode EARS C2 la remplace : moyenne et écart type des semaines t−9 à t−3, limite à la "
        "moyenne plus trois écarts types.",
        "**A week's usual range** — for each municipality (and for the total shown), the number of interventions "
        "expected that week is estimated from the five previous years: an overdispersed Poisson model with a trend "
        "(kept only when significant), a level for the same calendar weeks (three weeks either side) and nine other "
        "periods of the year, the population as an offset; past weeks far above their expectation weigh less (an old "
        "outbreak does not raise the bar), and the last 26 weeks are left out (a rise under way does not hide "
        "itself). The upper end is the 99th percentile of the negative binomial of that expectation (the improved "
        "Farrington method, Noufaily et al., 2013). A week is **unusual** when it is above that end and the last 4 "
        "weeks hold at least 5 interventions. Where a municipality has less than two years of history, the EARS C2 "
        "method stands in: the mean and standard deviation of weeks t−9 to t−3, the end at the mean plus three "
        "standard deviations.",
    ),
    "overview.unusual.none": (
        "Aucune semaine de la période ne dépasse sa plage habituelle dans une municipalité.",
        "No week of the period is above its usual range in any municipality.",
    ),
    "overview.unusual.caption": (
        "Semaines au-dessus de leur plage habituelle (méthode de Farrington améliorée ; EARS C2 là où l'historique "
        "compte moins de deux ans), et seulement si les 4 dernières semaines comptent au moins 5 interventions. "
        "L'excédent est le nombre d'interventions au-delà de la limite haute.",
        "Weeks above their usual range (improved Farrington method; EARS C2 where the history is shorter than two "
        "years), and only when the last 4 weeks hold at least 5 interventions. The excess is the number of "
        "interventions above the upper end.",
    ),
    "unusual.column.municipality": ("Municipalité", "Municipality"),
    "unusual.column.week": ("Semaine", "Week"),
    "unusual.column.interventions": ("Interventions", "Interventions"),
    "unusual.column.expected": ("Attendu", "Expected"),
    "unusual.column.upper": ("Limite haute", "Upper end"),
    "unusual.column.excess": ("Excédent", "Excess"),
    "unusual.column.method": ("Méthode", "Method"),
    "unusual.method.farrington": ("Farrington", "Farrington"),
    "unusual.method.ears_c2": ("EARS C2 (moins de 2 ans d'historique)", "EARS C2 (less than 2 years of history)"),
    "chart.municipality": ("Municipalité", "Municipality"),
    "chart.population": ("Population", "Population"),
    "chart.rate_per_1000": ("Taux pour 1 000 habitants", "Rate per 1,000 residents"),
    "chart.map.caption.count": (
        "Plus la colonne est haute et foncée, plus il y a eu d'interventions.",
        "The taller and darker the column, the more interventions.",
    ),
    "chart.map.caption.rate": (
        "Plus la colonne est haute et foncée, plus le taux pour 1 000 habitants est élevé ; "
        "en gris : population inconnue.",
        "The taller and darker the column, the higher the rate per 1,000 residents; grey: population unknown.",
    ),
    "chart.map.caption.boundaries": (
        "Plus la municipalité est foncée, plus la valeur est élevée ; en gris : aucune valeur.",
        "The darker the municipality, the higher the value; grey: no value.",
    ),
    "chart.members": ("Personnes", "People"),
    "chart.members_and_share": ("Personnes (part des arrestations)", "People (share of arrests)"),
    "chart.members_and_share_of_cohort": ("Personnes (part de la cohorte)", "People (share of the cohort)"),
    "chart.stage": ("Étape", "Stage"),
    "chart.stage.arrests": ("Arrestations", "Arrests"),
    "chart.stage.cohort": ("Arrestations (cohorte)", "Arrests (cohort)"),
    "chart.stage.attempted": ("Contact tenté", "Attempted"),
    "chart.stage.reached": ("Joints", "Reached"),
    "chart.stage.accepted": ("Ont accepté de l'aide", "Accepted help"),
    "chart.stage.declined": ("Refus", "Declined"),
    "chart.stage.already_in_help": ("Refus, déjà en démarche d'aide", "Declined, already in help"),
    "chart.funnel.section": ("Section", "Section"),
    "chart.funnel.path": ("De l'arrestation à l'acceptation", "From arrest to acceptance"),
    "chart.funnel.breakdown": ("Joints sans acceptation", "Reached, not accepted"),
    "chart.delay": ("Délai avant la 1re tentative", "Time to first attempt"),
    "chart.bucket.0-6": ("0–6 h", "0–6 h"),
    "chart.bucket.6-12": ("6–12 h", "6–12 h"),
    "chart.bucket.12-24": ("12–24 h", "12–24 h"),
    "chart.bucket.24-48": ("24–48 h", "24–48 h"),
    "chart.bucket.48-72": ("48–72 h", "48–72 h"),
    "chart.bucket.72-168": ("3–7 jours", "3–7 days"),
    "chart.bucket.168+": ("plus de 7 jours", "over 7 days"),
    "chart.bucket.never": ("jamais tenté", "never attempted"),
    "chart.timing": ("Délai", "Timing"),
    "chart.timing.on_time": ("dans la cible", "within target"),
    "chart.timing.late": ("après la cible", "after target"),
    "chart.timing.never": ("jamais tenté", "never attempted"),
    "chart.target": ("Cible : {value}", "Target: {value}"),
    "chart.median": ("Médiane : {value}", "Median: {value}"),
    "chart.p90": ("90e centile : {value}", "90th percentile: {value}"),
    "chart.share_24h": ("Part contactée en 24 h", "Share attempted within 24 h"),
    "chart.within_24h": ("Contactés en 24 h", "Attempted within 24 h"),
    "chart.cohort": ("Arrestations (cohorte)", "Arrests (cohort)"),
    "chart.outcome": ("Issue", "Outcome"),
    "chart.outcome.accepted": ("A accepté de l'aide", "Accepted help"),
    "chart.outcome.already_in_help": ("Refus, déjà en démarche d'aide", "Declined, already in help"),
    "chart.outcome.declined": ("Refus", "Declined"),
    "chart.outcome.no_answer": ("Non joint", "Not reached"),
    "chart.outcome.not_attempted": ("Pas encore tenté", "Not yet attempted"),
    "chart.attempts": ("Orientations", "Referrals"),
    "chart.referral": ("Orientation", "Referral"),
    "chart.referral.men_program": ("Programme pour hommes", "Men's program"),
    "chart.referral.therapy": ("Thérapie", "Therapy"),
    "chart.referral.addiction": ("Dépendances", "Addiction"),
    "chart.referral.shelter": ("Hébergement", "Shelter"),
    "chart.referral.victim_assistance": ("Aide aux victimes", "Victim assistance"),
    "chart.referral.legal": ("Juridique", "Legal"),
    "chart.referral.other": ("Autre", "Other"),
    "chart.group": ("Groupe", "Group"),
    "chart.group.accepted": ("Ont accepté de l'aide", "Accepted help"),
    "chart.group.declined_or_in_help": ("Refus ou déjà en démarche", "Declined or already in help"),
    "chart.group.not_reached": ("Non joints", "Not reached"),
    "chart.repeated": ("Avec nouvelle intervention", "With a repeat intervention"),
    "chart.repeat_share": (
        "Part avec nouvelle intervention en 12 mois",
        "Share with a repeat intervention within 12 months",
    ),
    "chart.share_of": ("{share} ({repeated} sur {members})", "{share} ({repeated} of {members})"),
    # each chart in words (dashboard/render/chart_text.py): a summary sentence and a table
    "chart.text.see_table": ("Voir en tableau", "See as table"),
    "chart.text.table_below": ("Le tableau « Par municipalité », plus bas, en donne chaque chiffre.",
                               "The “By municipality” table further down gives each of its figures."),
    "chart.text.empty": ("Aucune donnée à montrer pour cette période.", "No data to show for this period."),
    "chart.text.separator": (" ; ", "; "),
    "chart.text.weekly": (
        "{total} interventions en {weeks} semaines, {mean} par semaine en moyenne ; la semaine la plus chargée, "
        "{week}, en compte {busiest}. Mêmes semaines l'an dernier : {last_year}.",
        "{total} interventions over {weeks} weeks, {mean} a week on average; the busiest week, {week}, had "
        "{busiest}. Same weeks last year: {last_year}.",
    ),
    "chart.text.heat.weeks": (
        "{municipalities} municipalités sur {periods} semaines ; la plus touchée, {name}, compte {count} "
        "interventions ({share} du total).",
        "{municipalities} municipalities over {periods} weeks; the busiest, {name}, had {count} interventions "
        "({share} of the total).",
    ),
    "chart.text.heat.months": (
        "{municipalities} municipalités sur {periods} mois ; la plus touchée, {name}, compte {count} interventions "
        "({share} du total).",
        "{municipalities} municipalities over {periods} months; the busiest, {name}, had {count} interventions "
        "({share} of the total).",
    ),
    "chart.text.heat.quarters": (
        "{municipalities} municipalités sur {periods} trimestres ; la plus touchée, {name}, compte {count} "
        "interventions ({share} du total).",
        "{municipalities} municipalities over {periods} quarters; the busiest, {name}, had {count} interventions "
        "({share} of the total).",
    ),
    "chart.text.heat.unusual_one": (
        "{cells} case inhabituelle, encadrée, listée dans le tableau des semaines inhabituelles.",
        "{cells} unusual cell, outlined, listed in the table of unusual weeks.",
    ),
    "chart.text.heat.unusual": (
        "{cells} cases inhabituelles, encadrées, listées dans le tableau des semaines inhabituelles.",
        "{cells} unusual cells, outlined, listed in the table of unusual weeks.",
    ),
    "chart.text.map.count": (
        "{municipalities} municipalités ; le plus d'interventions : {name} ({value}).",
        "{municipalities} municipalities; the most interventions: {name} ({value}).",
    ),
    "chart.text.map.rate": (
        "{municipalities} municipalités ; le taux le plus élevé pour 1 000 habitants : {name} ({value}).",
        "{municipalities} municipalities; the highest rate per 1,000 residents: {name} ({value}).",
    ),
    "chart.text.funnel": (
        "Sur {arrests} hommes arrêtés, {attempted} ont reçu une tentative de contact, {reached} ont été joints et "
        "{accepted} ont accepté de l'aide ({share}).",
        "Of {arrests} men arrested, {attempted} were attempted, {reached} reached and {accepted} accepted help "
        "({share}).",
    ),
    "chart.text.share_of_arrests": ("Part des arrestations", "Share of arrests"),
    "chart.text.share_of_cohort": ("Part de la cohorte", "Share of the cohort"),
    "chart.text.delay": (
        "{within} hommes sur {total} ({share}) ont reçu une première tentative dans la cible de {target} ; "
        "{never} n'en ont reçu aucune.",
        "{within} of {total} men ({share}) were first attempted within the {target} target; {never} were never "
        "attempted.",
    ),
    "chart.text.within_24h": (
        "{met} semaines sur {weeks} atteignent la cible de {target} ; la part hebdomadaire va de {low} à {high}.",
        "{met} of {weeks} weeks meet the {target} target; the weekly share ranges from {low} to {high}.",
    ),
    "chart.text.target_met": ("Cible atteinte", "Target met"),
    "chart.text.outcomes": (
        "{total} hommes sur {months} mois ; issue la plus fréquente : {label}, {count} ({share}).",
        "{total} men over {months} months; the most frequent outcome: {label}, {count} ({share}).",
    ),
    "chart.text.referrals": (
        "{total} orientations sur {months} mois ; la plus fréquente : {label}, {count} ({share}).",
        "{total} referrals over {months} months; the most frequent: {label}, {count} ({share}).",
    ),
    "chart.text.repeat": ("Nouvelle intervention dans les 12 mois : {groups}.",
                          "Repeat intervention within 12 months: {groups}."),
    "chart.text.repeat.group": ("{group}, {share}", "{group}, {share}"),
    "chart.text.report.hidden": (
        "Valeurs affichées « {marker} » : {small} ; masquées (x) : {masked}.",
        "Shown as \"{marker}\": {small}; hidden (x): {masked}.",
    ),
    "chart.text.report.trend": (
        "{total} interventions en {weeks} semaines ; la semaine la plus chargée parmi celles affichées, {week}, en "
        "compte {busiest}.",
        "{total} interventions over {weeks} weeks; the busiest week shown, {week}, had {busiest}.",
    ),
    "chart.text.report.trend.plain": ("{total} interventions en {weeks} semaines.",
                                      "{total} interventions over {weeks} weeks."),
    "chart.text.report.map": (
        "{municipalities} municipalités ; le taux le plus élevé affiché : {name}, {rate} pour 1 000 habitants.",
        "{municipalities} municipalities; the highest rate shown: {name}, {rate} per 1,000 residents.",
    ),
    "chart.text.report.map.plain": ("{municipalities} municipalités.", "{municipalities} municipalities."),
    "chart.text.report.funnel": (
        "Cohorte : {arrests} hommes arrêtés ; contact tenté : {attempted} ; joints : {reached} ; ont accepté de "
        "l'aide : {accepted}.",
        "Cohort: {arrests} men arrested; attempted: {attempted}; reached: {reached}; accepted help: {accepted}.",
    ),
    "chart.text.report.delays": (
        "Part contactée dans les 24 h : {within} ; délai médian avant la première tentative : {median}.",
        "Share attempted within 24 h: {within}; median time to first attempt: {median}.",
    ),
    # the funder report: page, downloads and small-cell suppression
    "report.small": ("< {threshold}", "< {threshold}"),
    "report.masked": ("x", "x"),
    "report.legend": (
        "« < {threshold} » : de 1 à {below} ; « x » : masqué pour qu'un petit nombre ne puisse pas être déduit des "
        "totaux ; « — » : sans objet. Zéro est affiché zéro.",
        "\"< {threshold}\": 1 to {below}; \"x\": hidden so that a small count cannot be worked out from the totals; "
        "\"—\": not applicable. Zero is shown as zero.",
    ),
    "report.footer.exact": (
        "Relais · produit le {date} · CHIFFRES EXACTS, NON MASQUÉS : usage interne, à ne pas diffuser",
        "Relais · produced {date} · EXACT, UNSUPPRESSED FIGURES: internal use, not for release",
    ),
    "report.legend.exact": (
        "Chiffres exacts : aucun compte n'est masqué. « — » : sans objet.",
        "Exact figures: no count is hidden. \"—\": not applicable.",
    ),
    "report.intro.exact": (
        "Rapport interne aux chiffres exacts, non masqués : il ne doit pas quitter l'organisation. Chiffres de la "
        "période, comparés à la période précédente et à la même période l'an dernier.",
        "An internal report with exact, unsuppressed figures: it must not leave the organisation. Figures for the "
        "period, compared with the previous period and the same period last year.",
    ),
    "report.intro.last_year.exact": (
        "Rapport interne aux chiffres exacts, non masqués : il ne doit pas quitter l'organisation. Chiffres de la "
        "période, comparés à la même période l'an dernier.",
        "An internal report with exact, unsuppressed figures: it must not leave the organisation. Figures for the "
        "period, compared with the same period last year.",
    ),
    "report.definition.suppression.exact": (
        "aucun compte n'est masqué dans ce rapport interne : il ne doit pas être remis à un bailleur de fonds.",
        "no count is hidden in this internal report: it must not be given to a funder.",
    ),
    "report.command.error.exact": (
        "--exact n'est permis que si l'administrateur l'a autorisé (RELAIS_EXACT_REPORTS=allowed)",
        "--exact is allowed only where the administrator has allowed it (RELAIS_EXACT_REPORTS=allowed)",
    ),
    "report.footer": (
        "Relais · produit le {date} · comptes supprimés affichés « < {threshold} »",
        "Relais · produced {date} · suppressed counts shown as \"< {threshold}\"",
    ),
    "report.title": ("Rapport aux bailleurs de fonds", "Funder report"),
    "report.title.exact": ("Rapport interne, chiffres exacts", "Internal report, exact figures"),
    "report.subtitle": ("Violence conjugale : interventions policières et suivi après arrestation",
                        "Domestic violence: police interventions and outreach after arrest"),
    "report.intro": (
        "Chiffres agrégés de la période, comparés à la période précédente et à la même période l'an dernier. Tout "
        "compte de 1 à {below} est masqué, ainsi que tout compte qui permettrait de le retrouver.",
        "Aggregate figures for the period, compared with the previous period and the same period last year. Every "
        "count from 1 to {below} is hidden, and so is any count that would let it be worked out.",
    ),
    "report.intro.last_year": (
        "Chiffres agrégés de la période, comparés à la même période l'an dernier. Tout compte de 1 à {below} est "
        "masqué, ainsi que tout compte qui permettrait de le retrouver.",
        "Aggregate figures for the period, compared with the same period last year. Every count from 1 to {below} is "
        "hidden, and so is any count that would let it be worked out.",
    ),
    "report.period": ("Période", "Period"),
    "report.compared": ("{label} : {dates}", "{label}: {dates}"),
    "report.scope": ("Portée", "Scope"),
    "report.scope.all_services": ("Tous les services de police", "All police services"),
    "report.scope.services": ("Services de police : {services}", "Police services: {services}"),
    "report.scope.municipalities": ("Municipalités : {names}", "Municipalities: {names}"),
    "report.quarter": ("T{quarter} {year}", "Q{quarter} {year}"),
    "report.range": ("du {start} au {end}", "{start} to {end}"),
    "report.kind": ("Période du rapport", "Report period"),
    "report.kind.quarter": ("Trimestre", "Quarter"),
    "report.kind.year": ("Année", "Year"),
    "report.kind.custom": ("Dates au choix", "Custom dates"),
    "report.choose.quarter": ("Trimestre", "Quarter"),
    "report.choose.year": ("Année", "Year"),
    "report.partial": ("{label} (jusqu'au {end})", "{label} (to {end})"),
    "report.column.figure": ("Indicateur", "Figure"),
    "report.column.current": ("Période", "Period"),
    "report.column.previous": ("Période précédente", "Previous period"),
    "report.column.change_previous": ("Variation", "Change"),
    "report.column.last_year": ("Même période l'an dernier", "Same period last year"),
    "report.column.change_last_year": ("Variation sur un an", "Change over a year"),
    "report.column.definition": ("Définition", "Definition"),
    "report.column.unit": ("Unité", "Unit"),
    "report.unit.count": ("nombre", "number"),
    "report.unit.rate": ("pour 1 000 habitants", "per 1,000 residents"),
    "report.unit.share": ("%", "%"),
    "report.unit.hours": ("heures", "hours"),
    "report.column.week": ("Semaine ISO", "ISO week"),
    "report.column.week_start": ("Début de la semaine", "Week starting"),
    "report.column.interventions": ("Interventions", "Interventions"),
    "report.column.code": ("Code", "Code"),
    "report.column.municipality": ("Municipalité", "Municipality"),
    "report.column.population": ("Population (2021)", "Population (2021)"),
    "report.column.rate_per_1000": ("Taux pour 1 000 habitants", "Rate per 1,000 residents"),
    "report.column.outcome": ("Issue", "Outcome"),
    "report.column.delay": ("Délai avant la 1re tentative", "Time to first attempt"),
    "report.column.members": ("Personnes", "People"),
    "report.points": ("{value} pts", "{value} pts"),
    "report.section.volume": ("Interventions", "Interventions"),
    "report.section.outreach": ("Suivi après arrestation", "Outreach after arrest"),
    "report.section.timeliness": ("Rapidité du premier contact", "Time to first contact"),
    "report.section.trend": ("Tendance hebdomadaire", "Weekly trend"),
    "report.section.map": ("Municipalités", "Municipalities"),
    "report.section.funnel": ("Du premier contact à l'aide acceptée", "From first contact to help accepted"),
    "report.section.delays": ("Délai entre l'arrestation et la première tentative", "Time from arrest to first attempt"),
    "report.section.outcomes": ("Issues", "Outcomes"),
    "report.section.definitions": ("Définitions", "Definitions"),
    "report.section.headline": ("En bref", "At a glance"),
    "report.message.volume": (
        "{interventions} interventions, {change} par rapport à la même période l'an dernier.",
        "{interventions} interventions, {change} compared with the same period last year.",
    ),
    "report.message.volume.plain": ("{interventions} interventions dans la période.",
                                    "{interventions} interventions in the period."),
    "report.message.outreach": (
        "Taux de joignabilité {reach} ; taux d'acceptation {acceptance}.",
        "Reach rate {reach}; acceptance rate {acceptance}.",
    ),
    "report.message.outreach.reach": ("Taux de joignabilité {reach}.", "Reach rate {reach}."),
    "report.message.outreach.acceptance": ("Taux d'acceptation {acceptance}.", "Acceptance rate {acceptance}."),
    "report.message.timeliness.within": (
        "{within} des hommes arrêtés ont eu une première tentative de contact en 24 h.",
        "{within} of arrested men had a first contact attempt within 24 h.",
    ),
    "report.message.timeliness.median": (
        "Délai médian avant la première tentative de contact : {median}.",
        "Median time to the first contact attempt: {median}.",
    ),
    "report.message.hidden": (
        "Trop peu de cas pour publier ces taux dans cette portée.",
        "Too few cases to publish these rates in this scope.",
    ),
    "report.message.timeliness": (
        "{within} des hommes arrêtés ont eu une première tentative de contact en 24 h ; délai médian {median}.",
        "{within} of arrested men had a first contact attempt within 24 h; median time {median}.",
    ),
    "report.caption.trend": (
        "Interventions par semaine ISO ; la première et la dernière semaine ne comptent que les jours de la période.",
        "Interventions per ISO week; the first and last weeks count only the days in the period.",
    ),
    "report.caption.map": (
        "Couleur : interventions pour 1 000 habitants ; taille : nombre d'interventions. En gris : masqué.",
        "Colour: interventions per 1,000 residents; size: number of interventions. Grey: hidden.",
    ),
    "report.caption.funnel": (
        "Hommes arrêtés dans la période (cohorte) et où chacun en est rendu ; part de la cohorte entre parenthèses.",
        "Men arrested in the period (cohort) and how far each got; share of the cohort in brackets.",
    ),
    "report.caption.delays": (
        "Hommes arrêtés selon le délai avant la première tentative de contact ; cible : {target}.",
        "Arrested men by time to the first contact attempt; target: {target}.",
    ),
    "report.caption.outcomes": (
        "Meilleure issue obtenue pour chaque homme arrêté dans la période.",
        "Best outcome reached for each man arrested in the period.",
    ),
    "report.not_broken_down": (
        "Trop peu de cas pour une répartition : seuls les totaux sont publiés.",
        "Too few cases to break down: only the totals are published.",
    ),
    "report.definition.suppression": (
        "pour qu'aucune personne ne puisse être reconnue, un compte de 1 à {below} est affiché « < {threshold} », "
        "un taux ou une médiane calculé sur moins de {threshold} cas n'est pas affiché, et un autre compte est masqué "
        "(« x ») lorsqu'il permettrait de retrouver un petit nombre à partir d'un total.",
        "so that no person can be recognised, a count from 1 to {below} is shown as \"< {threshold}\", a rate or "
        "median built on fewer than {threshold} cases is not shown, and another count is hidden (\"x\") when it "
        "would let a small count be worked out from a total.",
    ),
    "report.label.suppression": ("Petits nombres", "Small counts"),
    "report.download.pdf": ("Rapport PDF", "PDF report"),
    "report.download.pptx": ("Présentation PowerPoint", "PowerPoint deck"),
    "report.download.csv": ("Tableaux (CSV, zip)", "Tables (CSV, zip)"),
    "report.download.title": ("Télécharger ce rapport", "Download this report"),
    "report.download.preparing": ("Préparation des fichiers…", "Preparing the files…"),
    "report.file.stem": ("relais-rapport", "relais-report"),
    "report.empty": ("Aucune intervention dans cette période et cette portée.",
                     "No intervention in this period and scope."),
    "report.funder_fixed": (
        "Portée fixée par votre compte et périodes complètes d'une seule sorte, pour qu'aucun petit nombre ne "
        "puisse être déduit en comparant des rapports.",
        "Scope set by your account and complete periods of one kind only, so that no small count can be worked "
        "out by comparing reports.",
    ),
    "report.other_kind.quarter": (
        "Les bailleurs reçoivent des rapports par trimestre complet, de toute leur portée. Ce rapport est d'une autre "
        "sorte : remis à un bailleur qui a aussi les siens, il permettrait de déduire des petits nombres en les "
        "comparant.",
        "Funders get reports by whole quarter, of their whole scope. This report is of another kind: handed to a "
        "funder who also has theirs, it would let small counts be worked out by comparing them.",
    ),
    "report.other_kind.year": (
        "Les bailleurs reçoivent des rapports par année complète, de toute leur portée. Ce rapport est d'une autre "
        "sorte : remis à un bailleur qui a aussi les siens, il permettrait de déduire des petits nombres en les "
        "comparant.",
        "Funders get reports by whole year, of their whole scope. This report is of another kind: handed to a "
        "funder who also has theirs, it would let small counts be worked out by comparing them.",
    ),
    "report.field": ("{label} : {value}", "{label}: {value}"),
    "report.produced": ("Produit le {date}", "Produced {date}"),
    "report.slide.continued": ("{title} (suite)", "{title} (continued)"),
    "report.file.figures": ("indicateurs", "figures"),
    "report.file.weekly": ("semaines", "weekly"),
    "report.file.municipalities": ("municipalites", "municipalities"),
    "report.file.outcomes": ("issues", "outcomes"),
    "report.file.delays": ("delais", "delays"),
    "report.file.readme": ("LISEZMOI", "README"),
    "report.readme.files": (
        "Tableaux CSV (séparateur point-virgule, UTF-8) :",
        "CSV tables (comma-separated, UTF-8):",
    ),
    "report.slide.closing": ("Relais · données agrégées, petits nombres supprimés",
                             "Relais · aggregate data, small counts suppressed"),
}


# The language of whoever the current code works for (a signed-in viewer), when it is not the configured one.
_speaking: ContextVar[str | None] = ContextVar("speaking", default=None)


@contextmanager
def speaking(language: str):
    """Within the block, text without an explicit language is in this one (checks run for a viewer)."""
    token = _speaking.set(language)
    try:
        yield
    finally:
        _speaking.reset(token)


def language_or_default(language: str | None) -> str:
    """A supported language code: the one given, else the one spoken in this block, else the configured one."""
    if language in LANGUAGES:
        return language
    return _speaking.get() or settings.language()


def t(key: str, language: str | None = None, **values: object) -> str:
    """The catalogue text for a key in a language, with its placeholders filled."""
    french, english = CATALOGUE[key]
    text = english if language_or_default(language) == "en" else french
    return text.format(**values) if values else text


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALES[language])


@functools.cache
def _number_pattern(digits: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


# A province-wide report writes thousands of figures, many of them alike; Babel takes about 0.1 ms for each.
@functools.lru_cache(maxsize=65536)
def _formatted_number(value: float | int, language: str, digits: int) -> str:
    return _number_pattern(digits).apply(value, _locale(language))


def number(value: float | int, language: str | None = None, digits: int = 0) -> str:
    """A number in the language's format: 1 234,5 in French, 1,234.5 in English."""
    return _formatted_number(value, language_or_default(language), digits)


def percent(fraction: float, language: str | None = None, digits: int = 0) -> str:
    """A fraction as a percentage in the language's format."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + " %"
    if language_or_default(language) == "en":
        pattern = pattern.replace(" %", "%")
    return format_percent(fraction, format=pattern, locale=LOCALES[language_or_default(language)])


def day(value: date, language: str | None = None) -> str:
    """A date in the language's medium format: 21 nov. 2026, Nov 21, 2026."""
    return format_date(value, format="medium", locale=LOCALES[language_or_default(language)])


# Past two days, time since a moment reads better in days.
HOURS_BEFORE_DAYS = 48


def elapsed(hours: float, language: str | None = None) -> str:
    """Time since a moment in words, whole units rounded down: less than an hour, 31 h, 3 days."""
    language = language_or_default(language)
    if hours < 1:
        return t("freshness.elapsed.under_hour", language)
    if hours < HOURS_BEFORE_DAYS:
        return t("freshness.elapsed.hours", language, hours=number(math.floor(hours), language))
    return t("freshness.elapsed.days", language, days=number(math.floor(hours / 24), language))


def moment(value: datetime, language: str | None = None) -> str:
    """A date and time as its own clock reads it, to the minute: 21 nov. 2026, 16 h 05; Nov 21, 2026, 4:05 p.m."""
    locale = LOCALES[language_or_default(language)]
    when = format_date(value.date(), format="medium", locale=locale)
    return _locale(language_or_default(language)).datetime_formats["medium"].format(
        format_time(value.timetz(), format="short", locale=locale), when)
