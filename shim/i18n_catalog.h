/*
 * i18n_catalog.h - the StatusMessage texts, one row per resource id, one
 * column per language in the order of erps_i18n_languages (en nb sv da de nl
 * fr). Included by i18n.c only.
 *
 * The English column must read exactly as proto/src/status.c writes the
 * agent's text (test_i18n checks it for every id). Placeholders are named
 * ({interval}, {next}, {iteration}, {detail}; i18n.h says what fills them) so
 * a translation may put them in any order. French takes a no-break space
 * before ':' and a narrow one before ';', as French typography does; they
 * are spelled out because they are invisible in an editor.
 */
#ifndef ERPSYNC_SHIM_I18N_CATALOG_H
#define ERPSYNC_SHIM_I18N_CATALOG_H

#define CATALOG_LANGUAGES 7

#define NBSP  "\u00A0" /* NO-BREAK SPACE */
#define NNBSP "\u202F" /* NARROW NO-BREAK SPACE */

typedef struct catalog_entry {
    const char *id;
    const char *text[CATALOG_LANGUAGES];
} catalog_entry_t;

/* One language a line, in CATALOG_LANGUAGES order: kept as written. */
// clang-format off
static const catalog_entry_t catalog[] = {
    /* Not a StatusMessage: the Reason of a reader's TableRight and
     * FieldRights (erps_i18n_text). */
    {"SR_ERPSYNC_READER_REASON",
     {"the caller may only read the engine status",
      "brukeren kan bare lese motorens status",
      "användaren får bara läsa motorns status",
      "brugeren må kun læse motorens status",
      "der Aufrufer darf den Status der Engine nur lesen",
      "de aanroeper mag de status van de engine alleen lezen",
      "l'appelant peut seulement lire l'état du moteur"}},
    {"SR_ERPSYNC_STOPPED",
     {"The ERP sync engine is stopped.",
      "ERP-synkroniseringsmotoren er stoppet.",
      "ERP-synkroniseringsmotorn är stoppad.",
      "ERP-synkroniseringsmotoren er standset.",
      "Die ERP-Synchronisierungs-Engine ist angehalten.",
      "De ERP-synchronisatie-engine is gestopt.",
      "Le moteur de synchronisation ERP est arrêté."}},
    {"SR_ERPSYNC_STARTING",
     {"The ERP sync engine is starting.",
      "ERP-synkroniseringsmotoren starter.",
      "ERP-synkroniseringsmotorn startar.",
      "ERP-synkroniseringsmotoren starter op.",
      "Die ERP-Synchronisierungs-Engine wird gestartet.",
      "De ERP-synchronisatie-engine wordt gestart.",
      "Le moteur de synchronisation ERP démarre."}},
    {"SR_ERPSYNC_RUNNING",
     {"The ERP sync engine is running every {interval}; next iteration at "
      "{next}.",
      "ERP-synkroniseringsmotoren kjører med intervallet {interval}; neste "
      "kjøring starter {next}.",
      "ERP-synkroniseringsmotorn körs med intervallet {interval}; nästa "
      "körning startar {next}.",
      "ERP-synkroniseringsmotoren kører med intervallet {interval}; næste "
      "kørsel starter {next}.",
      "Die ERP-Synchronisierungs-Engine läuft im Intervall von {interval}; "
      "nächster Durchlauf am {next}.",
      "De ERP-synchronisatie-engine draait met een interval van {interval}; "
      "de volgende uitvoering is op {next}.",
      "Le moteur de synchronisation ERP fonctionne avec un intervalle de "
      "{interval}" NNBSP "; prochaine exécution le {next}."}},
    {"SR_ERPSYNC_RUNNING_ITERATING",
     {"The ERP sync engine is running every {interval}; iteration {iteration} "
      "is in progress.",
      "ERP-synkroniseringsmotoren kjører med intervallet {interval}; kjøring "
      "{iteration} pågår.",
      "ERP-synkroniseringsmotorn körs med intervallet {interval}; körning "
      "{iteration} pågår.",
      "ERP-synkroniseringsmotoren kører med intervallet {interval}; kørsel "
      "{iteration} er i gang.",
      "Die ERP-Synchronisierungs-Engine läuft im Intervall von {interval}; "
      "Durchlauf {iteration} wird ausgeführt.",
      "De ERP-synchronisatie-engine draait met een interval van {interval}; "
      "uitvoering {iteration} is bezig.",
      "Le moteur de synchronisation ERP fonctionne avec un intervalle de "
      "{interval}" NNBSP "; l’exécution {iteration} est en cours."}},
    {"SR_ERPSYNC_STOPPING",
     {"The ERP sync engine is stopping after the running iteration.",
      "ERP-synkroniseringsmotoren stopper etter kjøringen som pågår.",
      "ERP-synkroniseringsmotorn stoppas efter den pågående körningen.",
      "ERP-synkroniseringsmotoren stopper efter den igangværende kørsel.",
      "Die ERP-Synchronisierungs-Engine wird nach dem laufenden Durchlauf "
      "angehalten.",
      "De ERP-synchronisatie-engine stopt na de lopende uitvoering.",
      "Le moteur de synchronisation ERP s’arrêtera à la fin de l’exécution "
      "en cours."}},
    {"SR_ERPSYNC_FAILED",
     {"The ERP sync engine has failed: {detail}",
      "ERP-synkroniseringsmotoren har feilet: {detail}",
      "ERP-synkroniseringsmotorn har stött på ett fel: {detail}",
      "Der er opstået en fejl i ERP-synkroniseringsmotoren: {detail}",
      "In der ERP-Synchronisierungs-Engine ist ein Fehler aufgetreten: "
      "{detail}",
      "Er is een fout opgetreden in de ERP-synchronisatie-engine: {detail}",
      "Le moteur de synchronisation ERP a rencontré une erreur" NBSP
      ": {detail}"}},
};
// clang-format on

#undef NBSP
#undef NNBSP

#endif
