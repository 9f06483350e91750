/*
 * bench/render - personalised bulletins per second on one core: the
 * recipient's data, the templates, wrapping and MIME, for a 30-item issue.
 *
 *   render BUILD_DIR [RECIPIENTS]
 *
 * A temporary database gets 30 realistic items of all six types (the issue
 * of Tuesday 26.5.2020, period 12.–26.5.2020), validated by event_parse as
 * intake would.  RECIPIENTS (default 20,000) synthetic subscribers follow:
 * Finnish, Swedish and English names, 80 % fi, 10 % sv, 10 % en, half of
 * them following all regions and half one region (so they get 22-30
 * items).  The process pins itself to the CPU it runs on.
 *
 * Measured, each over every recipient, two rounds alternating, the better
 * round kept:
 *   ours      message_bulletin() with an eml buffer: exactly what the sender
 *             does per message (compose_bulletin, the common data and
 *             unsubscribe token, render_message with wrapping, mime_build)
 *   parts     the same without MIME (eml NULL): compose + render + wrap
 *   mime      mime_build() alone on one recipient's finished parts
 *   baseline  json_dumps() of each recipient's template data (the same tree
 *             the templates read, built beforehand for every language and
 *             region set): what merely writing the content out costs with a
 *             plain serialiser.  The ratio ours/baseline is how many times
 *             that our whole per-message work costs.
 * Templates come from $TIEDOTE_ROOT/templates (default ./templates; make
 * bench runs it from the repository).
 */
#include <sys/syscall.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "compose.h"
#include "conf.h"
#include "event.h"
#include "log.h"
#include "message.h"
#include "mime.h"
#include "store.h"
#include "util.h"

#define ISSUE_AT	"2020-05-26T09:00:00+03:00"
#define RECEIVED	"2020-05-19T12:00:00+03:00"
#define ALL		"[\"all\"]"

/* the 30 items: realistic Finnish (and some Swedish and English) texts */
static const char *const items[] = {
	/* deadlines */
	"{\"id\":\"b-dl-1\",\"type\":\"deadline\",\"regions\":" ALL ",\"due\":\"2020-06-15T16:15:00+03:00\","
	"\"title\":{\"fi\":\"Hankkeiden väliraportit palautettava 15.6.2020\",\"sv\":\"Projektens mellanrapporter ska lämnas in senast 15.6.2020\","
	"\"en\":\"Interim reports of the projects due on 15 June 2020\"},"
	"\"summary\":{\"fi\":\"Valtionavustusta saaneet hankkeet toimittavat väliraportin sosiaali- ja terveysministeriöön. Raportissa kuvataan hankkeen eteneminen, toteutuneet toimenpiteet ja kustannukset sekä arvio tavoitteiden saavuttamisesta. Aluekoordinaattorit auttavat raportin laatimisessa.\","
	"\"sv\":\"Projekt som fått statsunderstöd lämnar en mellanrapport till social- och hälsovårdsministeriet. Rapporten beskriver hur projektet framskridit, vilka åtgärder som genomförts och vad de kostat.\"},"
	"\"url\":\"https://stm.fi/tulevaisuuden-sote-keskus/raportointi\"}",
	"{\"id\":\"b-dl-2\",\"type\":\"deadline\",\"regions\":[\"KYS\",\"OYS\"],\"due\":\"2020-06-05T12:00:00+03:00\","
	"\"title\":\"Ilmoittautuminen Pohjois- ja Itä-Suomen kehittäjäverkoston kesätapaamiseen päättyy\","
	"\"summary\":\"Kesätapaaminen järjestetään Kuopiossa 17.6.2020. Ilmoittautuneille lähetetään ennakkomateriaali ja etäosallistumislinkki viikkoa ennen tapaamista.\","
	"\"url\":\"https://thl.fi/tapahtumat/kehittajaverkosto-kesa-2020\"}",
	"{\"id\":\"b-dl-3\",\"type\":\"deadline\",\"regions\":" ALL ",\"due\":\"2020-07-17T16:15:00+03:00\","
	"\"title\":{\"fi\":\"Innokylän toimintamallien arviointikierroksen kuvaukset viimeistään 17.7.\",\"en\":\"Descriptions for the Innokylä assessment round by 17 July\"},"
	"\"summary\":{\"fi\":\"Arviointikierrokselle otetaan toimintamalleja, joiden kuvaus on Innokylässä valmis. Arvioinnin tekevät THL:n asiantuntijat yhdessä alueiden kehittäjien kanssa syyskuussa.\","
	"\"en\":\"Practices whose description in Innokylä is complete join the assessment round. THL experts assess them together with regional developers in September.\"},"
	"\"url\":\"https://www.innokyla.fi/fi/arviointi\"}",
	"{\"id\":\"b-dl-4\",\"type\":\"deadline\",\"regions\":[\"HYKS\"],\"due\":\"2020-06-12T16:00:00+03:00\","
	"\"title\":\"Uudenmaan sote-keskusten asiakaskyselyn vastausaika päättyy\","
	"\"summary\":\"Kysely koskee asiakkaiden kokemuksia sosiaali- ja terveyskeskusten palveluista. Tulokset käsitellään alueen ohjausryhmässä elokuussa.\"}",
	/* network days */
	"{\"id\":\"b-nd-1\",\"type\":\"network_day\",\"regions\":" ALL ",\"starts\":\"2020-06-10T09:00:00+03:00\",\"ends\":\"2020-06-10T15:30:00+03:00\","
	"\"title\":{\"fi\":\"Verkostopäivä 2/2020: hankkeiden arviointi\",\"sv\":\"Nätverksdag 2/2020: utvärdering av projekten\",\"en\":\"Network day 2/2020: evaluating the projects\"},"
	"\"summary\":{\"fi\":\"Kesäkuun verkostopäivän teemana on hankkeiden arviointi: miten hankkeen tavoitteet ja mittarit asetetaan niin, että muutos asukkaiden palveluissa näkyy. Mukana ovat THL:n hanketoimiston asiantuntijat ja kaikki viisi aluekoordinaattoria.\","
	"\"sv\":\"Temat för nätverksdagen i juni är utvärdering av projekten: hur man ställer upp mål och mätare så att förändringen i invånarnas tjänster syns.\","
	"\"en\":\"The June network day is about evaluating the projects: how to set goals and indicators so that the change in residents' services becomes visible.\"},"
	"\"location\":{\"fi\":\"Helsinki, THL (Mannerheimintie 166) / Teams\",\"sv\":\"Helsingfors, THL (Mannerheimvägen 166) / Teams\"},"
	"\"url\":\"https://thl.fi/tulevaisuuden-sote-keskus/verkostopaivat\"}",
	"{\"id\":\"b-nd-2\",\"type\":\"network_day\",\"regions\":" ALL ",\"starts\":\"2020-08-19T09:00:00+03:00\",\"ends\":\"2020-08-19T12:00:00+03:00\","
	"\"title\":\"Verkostopäivän etäosuus: sosiaalityö sote-keskuksessa\","
	"\"summary\":\"Aamupäivän etäosuudessa kuullaan kolmen alueen kokemuksia sosiaalityön integroimisesta terveyskeskuksen vastaanottoon. Tallenne julkaistaan Innokylässä.\","
	"\"location\":\"Teams\"}",
	"{\"id\":\"b-nd-3\",\"type\":\"network_day\",\"regions\":[\"TAYS\"],\"starts\":\"2020-06-03T12:00:00+03:00\",\"ends\":\"2020-06-03T16:00:00+03:00\","
	"\"title\":\"TAYS-alueen verkostoiltapäivä: digitaaliset palvelut\","
	"\"summary\":\"Pirkanmaan, Kanta-Hämeen, Etelä-Pohjanmaan ja Keski-Suomen hankkeet esittelevät digitaalisten palveluiden kokeilujaan.\","
	"\"location\":\"Tampere / Teams\"}",
	"{\"id\":\"b-nd-4\",\"type\":\"network_day\",\"regions\":" ALL ",\"starts\":\"2020-06-24T13:00:00+03:00\",\"ends\":\"2020-06-24T15:00:00+03:00\","
	"\"title\":{\"fi\":\"Aluekoordinaattorien kyselytunti\",\"sv\":\"Frågetimme med regionkoordinatorerna\",\"en\":\"Q&A hour with the regional coordinators\"},"
	"\"location\":\"Teams\"}",
	/* events */
	"{\"id\":\"b-ev-1\",\"type\":\"event\",\"regions\":" ALL ",\"starts\":\"2020-05-28T13:00:00+03:00\",\"ends\":\"2020-05-28T14:30:00+03:00\","
	"\"title\":\"Uudistunut Innokylä – esittelywebinaari hankkeille\","
	"\"summary\":\"Webinaarissa näytetään, miten hanke kuvaa toimintamallinsa Innokylään, miten malleja arvioidaan ja miten muiden alueiden malleja voi hyödyntää omassa työssä.\","
	"\"location\":\"Verkossa (Teams)\",\"url\":\"https://www.innokyla.fi/fi/tapahtumat/webinaari\"}",
	"{\"id\":\"b-ev-2\",\"type\":\"event\",\"regions\":[\"KYS\",\"OYS\"],\"starts\":\"2020-05-27T12:30:00+03:00\",\"ends\":\"2020-05-27T15:30:00+03:00\","
	"\"title\":{\"fi\":\"Muutosjohtamisen työpaja KYS- ja OYS-alueiden hankkeille\",\"en\":\"Change management workshop for projects in the KYS and OYS areas\"},"
	"\"summary\":{\"fi\":\"Työpajassa käydään läpi muutosjohtamisen työkaluja ja jaetaan kokemuksia siitä, miten sote-keskusten kehittämistyö on alueilla käynnistynyt.\"},"
	"\"location\":{\"fi\":\"Verkossa (Teams)\",\"en\":\"Online (Teams)\"}}",
	"{\"id\":\"b-ev-3\",\"type\":\"event\",\"regions\":" ALL ",\"starts\":\"2020-06-02T09:00:00+03:00\",\"ends\":\"2020-06-02T11:00:00+03:00\","
	"\"title\":{\"fi\":\"Webinaari: palvelutarpeen arviointi monialaisesti\",\"sv\":\"Webbinarium: bedömning av servicebehov i samarbete mellan sektorer\"},"
	"\"summary\":{\"fi\":\"Sosiaali- ja terveydenhuollon ammattilaiset kertovat, miten palvelutarve arvioidaan yhdessä asiakkaan kanssa yhdellä käynnillä.\",\"sv\":\"Yrkesfolk inom social- och hälsovården berättar hur servicebehovet bedöms tillsammans med klienten vid ett och samma besök.\"},"
	"\"location\":\"Teams\",\"url\":\"https://thl.fi/tapahtumat/palvelutarve\"}",
	"{\"id\":\"b-ev-4\",\"type\":\"event\",\"regions\":[\"TYKS\"],\"starts\":\"2020-06-09T09:00:00+03:00\",\"ends\":\"2020-06-09T12:00:00+03:00\","
	"\"title\":{\"fi\":\"Varsinais-Suomen ja Satakunnan hanketreffit\",\"sv\":\"Projektträff för Egentliga Finland och Satakunta\"},"
	"\"location\":{\"fi\":\"Turku / Teams\",\"sv\":\"Åbo / Teams\"}}",
	"{\"id\":\"b-ev-5\",\"type\":\"event\",\"regions\":" ALL ",\"starts\":\"2020-06-16T14:00:00+03:00\",\"ends\":\"2020-06-16T15:00:00+03:00\","
	"\"title\":\"Kysy hankeavustuksista: STM:n avoin kyselytunti\","
	"\"summary\":\"STM:n ja THL:n asiantuntijat vastaavat valtionavustuksen käyttöä, raportointia ja kustannusten hyväksyttävyyttä koskeviin kysymyksiin.\","
	"\"location\":\"Teams\",\"url\":\"https://stm.fi/kyselytunti\"}",
	"{\"id\":\"b-ev-6\",\"type\":\"event\",\"regions\":" ALL ",\"starts\":\"2020-08-18T09:00:00+03:00\",\"ends\":\"2020-08-19T16:00:00+03:00\","
	"\"title\":{\"fi\":\"Perusterveydenhuollon kehittämispäivät 2020\",\"en\":\"Primary health care development days 2020\"},"
	"\"summary\":{\"fi\":\"Kaksipäiväinen tapahtuma kokoaa perusterveydenhuollon ja sosiaalihuollon kehittäjät. Ohjelmassa on hankkeiden posterinäyttely ja rinnakkaisia työpajoja.\"},"
	"\"location\":\"Tampere-talo\",\"url\":\"https://thl.fi/tapahtumat/kehittamispaivat-2020\"}",
	/* practices */
	"{\"id\":\"b-pr-1\",\"type\":\"practice\",\"regions\":[\"TAYS\",\"KYS\",\"OYS\"],\"published\":\"2020-05-20T09:00:00+03:00\","
	"\"title\":{\"fi\":\"Huomisen terveyskeskus -valmennusliiga: maakunnalliset valmennusohjelmat\",\"sv\":\"Morgondagens hälsocentral – tränarligan\"},"
	"\"summary\":{\"fi\":\"HTK-valmennusliiga yhdistää kuntataustaiset terveyskeskukset alueellisiin valmennusohjelmiin paremman terveyden ja hyvinvoinnin puolesta.\"},"
	"\"organisation\":\"Sitra\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/htk-valmennusliiga\"}",
	"{\"id\":\"b-pr-2\",\"type\":\"practice\",\"regions\":" ALL ",\"published\":\"2020-05-14T10:00:00+03:00\","
	"\"title\":\"Sosiaaliohjaaja terveysaseman vastaanotolla\","
	"\"summary\":\"Sosiaaliohjaaja työskentelee terveysaseman tiimissä ja tapaa asiakkaan samalla käynnillä kuin hoitaja tai lääkäri. Malli lyhentää asiakkaan polkua sosiaalipalveluihin.\","
	"\"organisation\":\"Keski-Suomen sairaanhoitopiiri\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/sosiaaliohjaaja-vastaanotolla\"}",
	"{\"id\":\"b-pr-3\",\"type\":\"practice\",\"regions\":" ALL ",\"published\":\"2020-05-15T10:00:00+03:00\","
	"\"title\":\"Kotihoidon etäkäynnit kuvapuhelulla\","
	"\"summary\":\"Kotihoidon asiakkaat saavat osan käynneistä kuvapuheluna. Etäkäynnit sovitaan asiakkaan kanssa, ja niitä käytetään erityisesti lääkehoidon ohjaukseen.\","
	"\"organisation\":\"Pohjois-Pohjanmaan sairaanhoitopiiri\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/kotihoidon-etakaynnit\"}",
	"{\"id\":\"b-pr-4\",\"type\":\"practice\",\"regions\":[\"HYKS\"],\"published\":\"2020-05-18T10:00:00+03:00\","
	"\"title\":\"Omatiimi-malli terveysasemalla\","
	"\"summary\":\"Jokaisella asiakkaalla on nimetty tiimi, jossa on lääkäri, hoitaja ja tarvittaessa sosiaalityöntekijä. Jatkuvuus parantaa hoidon laatua ja vähentää päällekkäistä työtä.\","
	"\"organisation\":\"Vantaan kaupunki\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/omatiimi\"}",
	"{\"id\":\"b-pr-5\",\"type\":\"practice\",\"regions\":" ALL ",\"published\":\"2020-05-20T10:30:00+03:00\","
	"\"title\":{\"fi\":\"Asiakaslähtöisen terveyskeskuksen valmennusohjelma (Iisalmi ja Kiuruvesi)\",\"en\":\"Coaching programme for customer-oriented health centres\"},"
	"\"summary\":{\"fi\":\"Valmennuksessa terveyskeskusten asiakasvirrat ja palvelupolut muotoiltiin uudelleen asiakaslähtöisesti.\",\"en\":\"The health centres' customer flows and service paths were redesigned from the customer's point of view.\"},"
	"\"organisation\":\"Sitra sekä Iisalmen ja Kiuruveden terveyskeskukset\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/ylasavo\"}",
	"{\"id\":\"b-pr-6\",\"type\":\"practice\",\"regions\":" ALL ",\"published\":\"2020-05-22T10:00:00+03:00\","
	"\"title\":\"Matalan kynnyksen hyvinvointipiste kauppakeskuksessa\","
	"\"summary\":\"Hyvinvointipisteessä sosiaali- ja terveydenhuollon ammattilaiset neuvovat ilman ajanvarausta. Pisteessä käy viikoittain yli 300 asukasta.\","
	"\"organisation\":\"Porin perusturva\",\"url\":\"https://www.innokyla.fi/fi/toimintamalli/hyvinvointipiste\"}",
	/* announcements */
	"{\"id\":\"b-an-1\",\"type\":\"announcement\",\"regions\":" ALL ",\"in_bulletin\":true,"
	"\"title\":\"Ohjelman ajankohtaistiedote ilmestyy parin viikon välein\","
	"\"body\":\"Julkaisemme parin viikon välein ohjelman toimeenpanon tuesta kiinnostuneille sähköisen ajankohtaistiedotteen.\\n\\nTiedotteen voi tilata itselleen tai koko hanketiimille.\"}",
	"{\"id\":\"b-an-2\",\"type\":\"announcement\",\"regions\":" ALL ","
	"\"title\":{\"fi\":\"Hanketoimiston kesäajan palvelu\",\"sv\":\"Projektbyråns service under sommaren\",\"en\":\"The project office over the summer\"},"
	"\"body\":{\"fi\":\"Hanketoimisto palvelee koko kesän. Heinäkuussa vastaamme viesteihin kahden arkipäivän kuluessa.\\n\\nKiireellisissä asioissa ota yhteyttä oman alueesi aluekoordinaattoriin.\","
	"\"sv\":\"Projektbyrån betjänar hela sommaren. I juli svarar vi på meddelanden inom två vardagar.\","
	"\"en\":\"The project office is open all summer. In July we answer messages within two working days.\"}}",
	"{\"id\":\"b-an-3\",\"type\":\"announcement\",\"regions\":[\"OYS\"],"
	"\"title\":\"OYS-alueen aluekoordinaattorin sijainen kesällä\","
	"\"body\":\"Aluekoordinaattori Juha Fräntin sijaisena toimii 15.6.–9.8.2020 Anu Pihl (KYS).\"}",
	/* news */
	"{\"id\":\"b-nw-1\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-13T15:43:00+03:00\",\"source\":\"THL\","
	"\"title\":{\"fi\":\"Tulevaisuuden sote-keskus -ohjelman hankkeet käynnistyivät kaikilla alueilla\",\"sv\":\"Projekten inom programmet Framtidens social- och hälsocentral har startat i alla regioner\",\"en\":\"Projects under the programme have started in all regions\"},"
	"\"summary\":{\"fi\":\"Kaikki 21 maakuntaa ovat käynnistäneet kehittämishankkeensa. Hankkeiden yhteenlaskettu valtionavustus on noin 70 miljoonaa euroa.\",\"sv\":\"Alla 21 landskap har inlett sina utvecklingsprojekt.\",\"en\":\"All 21 regions have launched their development projects.\"},"
	"\"url\":\"https://thl.fi/uutiset/hankkeet-kaynnistyivat\"}",
	"{\"id\":\"b-nw-2\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-15T09:00:00+03:00\",\"source\":\"STM\","
	"\"title\":\"Sote-uudistuksen lausuntokierroksen yhteenveto julkaistiin\","
	"\"summary\":\"Lausuntoja annettiin yli 800. Yhteenveto käsittelee muun muassa perustason palveluiden vahvistamista ja sote-keskusten roolia tulevissa palvelurakenteissa.\","
	"\"url\":\"https://stm.fi/uutiset/lausuntoyhteenveto\"}",
	"{\"id\":\"b-nw-3\",\"type\":\"news\",\"regions\":[\"TAYS\",\"KYS\",\"OYS\"],\"source\":\"Sitra\","
	"\"title\":{\"fi\":\"Huomisen Terveyskeskus -valmennusliigassa mukana viisi maakuntaa\",\"en\":\"Five regions join the Health Centre of Tomorrow coaching league\"},"
	"\"summary\":{\"fi\":\"HTK-valmennusliiga laajeni viiden maakunnan alueelle. Työ kohdistuu ensivaiheessa 25 terveyskeskukseen.\"},"
	"\"url\":\"https://www.sitra.fi/artikkelit/htk-valmennusliiga/\"}",
	"{\"id\":\"b-nw-4\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-19T12:00:00+03:00\",\"source\":\"THL\","
	"\"title\":\"Tutkimus: monialainen vastaanotto vähentää päivystyskäyntejä\","
	"\"summary\":\"Tutkimuksessa seurattiin neljän terveysaseman asiakkaita kahden vuoden ajan. Monialaisen vastaanoton asiakkaiden päivystyskäynnit vähenivät lähes viidenneksellä.\","
	"\"url\":\"https://thl.fi/tutkimus/monialainen-vastaanotto\"}",
	"{\"id\":\"b-nw-5\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-20T08:00:00+03:00\",\"source\":\"Kuntaliitto\","
	"\"title\":\"Kuntaliiton kysely: koronaepidemia siirsi kehittämistyötä syksyyn\","
	"\"summary\":\"Kyselyyn vastanneista kunnista kaksi kolmesta kertoo siirtäneensä kehittämishankkeiden toimenpiteitä syksyyn. Hankeaikoja on mahdollista pidentää.\","
	"\"url\":\"https://www.kuntaliitto.fi/uutiset/kysely-kehittamistyo\"}",
	"{\"id\":\"b-nw-6\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-22T10:00:00+03:00\",\"source\":\"THL\","
	"\"title\":{\"fi\":\"Uusi opas: asukkaiden osallistaminen sote-keskuksen kehittämiseen\",\"sv\":\"Ny guide: invånarnas delaktighet i utvecklingen av social- och hälsocentralen\"},"
	"\"summary\":{\"fi\":\"Opas kokoaa menetelmiä, joilla asukkaat ja asiakkaat saadaan mukaan palveluiden suunnitteluun.\",\"sv\":\"Guiden samlar metoder för att få med invånare och klienter i planeringen av tjänsterna.\"},"
	"\"url\":\"https://thl.fi/julkaisut/osallistamisopas\"}",
	"{\"id\":\"b-nw-7\",\"type\":\"news\",\"regions\":" ALL ",\"published\":\"2020-05-25T14:00:00+03:00\",\"source\":\"THL\","
	"\"title\":\"Sote-keskusten asiakaskokemusmittari otetaan käyttöön syksyllä\","
	"\"summary\":\"Yhtenäinen mittari mahdollistaa alueiden vertailun. Mittari kerää palautteen tekstiviestillä käynnin jälkeen.\","
	"\"url\":\"https://thl.fi/uutiset/asiakaskokemusmittari\"}",
};

static const char *const first_names[] = {
	"Aino", "Eero", "Helmi", "Juhani", "Kaisa", "Lauri", "Minna", "Olli", "Riikka", "Timo",
	"Sanna", "Pekka", "Tuula", "Ville", "Anu", "Juha", "Leena-Kaisa", "Pia", "Miia", "Jyrki",
	"Erik", "Sofia", "Henrik", "Linnea", "Sarah", "James", "Ahmed", "Olga", "Ngozi", "Zoë",
};
static const char *const last_names[] = {
	"Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
	"Heikkinen", "Koskinen", "Järvinen", "Lindqvist", "Sjöberg", "Åström", "Öhman",
	"Smith", "Brown", "Ståhle", "Fränti", "Pihl", "Suvivuo", "Nikkarinen", "Niemi",
};

struct rcpt {
	message_rcpt_t r;
	char	 email[96], name[96];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
T(const char *s)
{
	int64_t t = 0;

	if (clock_parse(s, &t, NULL) < 0)
		fatal("bad time %s", s);
	return t;
}

static void
fill(store_t *store)
{
	int64_t now = T(RECEIVED);

	if (store_begin(store) < 0)
		fatal("store_begin: %s", store_errmsg(store));
	for (size_t i = 0; i < NELEM(items); i++) {
		event_err_t err;
		json_t *ev = event_parse(items[i], strlen(items[i]), 262144, &err);
		store_put_t put;
		char *body;
		int rev;

		if (ev == NULL)
			fatal("item %zu: %s %s", i, err.code, err.message);
		body = event_canonical(ev);
		if (store_event_put(store, json_string_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "type")), body, event_regions(ev),
		    event_at(ev), 0, now, &put, &rev) < 0)
			fatal("store: %s", store_errmsg(store));
		free(body);
		json_decref(ev);
	}
	if (store_commit(store) < 0)
		fatal("store_commit: %s", store_errmsg(store));
}

static void
people(struct rcpt *rs, int n)
{
	static const unsigned one[] = { 0x01, 0x02, 0x04, 0x08, 0x10 };
	uint64_t x = 0x2545f4914f6cdd1du;

	for (int i = 0; i < n; i++) {
		struct rcpt *p = &rs[i];
		unsigned k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (unsigned)(x % 100);
		snprintf(p->name, sizeof p->name, "%s %s",
		    first_names[(x >> 8) % NELEM(first_names)],
		    last_names[(x >> 20) % NELEM(last_names)]);
		snprintf(p->email, sizeof p->email, "tilaaja.%06d@sote-%u.example", i,
		    (unsigned)((x >> 32) % 21));
		p->r = (message_rcpt_t){ i + 1, p->email, p->name,
		    k < 80 ? "fi" : k < 90 ? "sv" : "en",
		    (x >> 40) % 2 ? 0x1f : one[(x >> 41) % 5], 0, 0 };
	}
}

/* pin - stay on the CPU we run on; its number, or -1 when not pinned.
 * (<sched.h> would be src/notice/sched.h here, so the system calls directly.) */
static int
pin(void)
{
	unsigned long mask[16] = { 0 };
	unsigned cpu = 0;

	if (syscall(SYS_getcpu, &cpu, NULL, NULL) < 0 || cpu >= sizeof mask * 8)
		return -1;
	mask[cpu / (sizeof mask[0] * 8)] = 1ul << (cpu % (sizeof mask[0] * 8));
	if (syscall(SYS_sched_setaffinity, 0, sizeof mask, mask) < 0)
		return -1;
	return (int)cpu;
}

int
main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 20000, cpu = pin(), items_sum = 0;
	char dir[] = "/tmp/tiedote-bench-render.XXXXXX", db[128], tdir[512], cmd[200];
	const char *root = getenv("TIEDOTE_ROOT");
	double best[5] = { 0, 0, 0, 0, 0 };	/* ours, parts, mime, baseline, no .ics: msg/s */
	size_t text_sum = 0, html_sum = 0, eml_sum = 0, json_sum = 0;
	compose_conf_t cc;
	compose_issue_t *issue;
	message_ctx_t *ctx;
	message_parts_t parts, one;
	struct rcpt *rs;
	json_t *data[3][32];
	store_t *store;
	conf_t conf;
	buf_t err, eml, number;
	int64_t at = T(ISSUE_AT);

	if (argc < 2 || n <= 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: render BUILD_DIR [RECIPIENTS]\n");
		return 64;
	}
	if (root == NULL || *root == '\0')
		root = ".";
	log_set_level(log_level_parse("warning"));
	snprintf(db, sizeof db, "%s/bench.db", dir);
	snprintf(tdir, sizeof tdir, "%s/templates", root);
	buf_init(&err, 4096);
	buf_init(&eml, (size_t)16 << 20);
	buf_init(&number, 64);
	conf_init(&conf);
	if (conf_set(&conf, "store", "path", db, &err) < 0 ||
	    conf_set(&conf, "message", "templates", tdir, &err) < 0 ||
	    store_open(&conf, &store, &err) < 0)
		fatal("%s", buf_str(&err));
	/* as tiedoted does: local time is the configured zone, so datefmt never
	 * switches TZ (each switch makes glibc read the zone file again) */
	setenv("TZ", conf.time_zone, 1);
	fill(store);
	cc = (compose_conf_t){ conf.time_zone, (int)conf.deadline_days, (int)conf.event_days };
	compose_number(at, conf.time_zone, 10, &number);
	if (compose_issue_load(store, &cc, buf_str(&number), at - 14 * 86400, at, &issue,
	    &err) < 0)
		fatal("%s", buf_str(&err));
	if (compose_issue_count(issue, 0x1f) != (int)NELEM(items))
		fatal("the issue has %d items, not %zu", compose_issue_count(issue, 0x1f),
		    NELEM(items));
	if ((ctx = message_open(&conf, store, &err)) == NULL)
		fatal("%s", buf_str(&err));
	rs = xcalloc((size_t)n, sizeof *rs);
	people(rs, n);
	message_parts_init(&parts);
	message_parts_init(&one);

	/* sizes, and one recipient's parts for the mime-only loop */
	for (int i = 0; i < n; i++) {
		buf_reset(&eml);
		if (message_bulletin(ctx, issue, buf_str(&number), &rs[i].r, at, &parts, &eml,
		    &err) != 0)
			fatal("message_bulletin: %s", buf_str(&err));
		text_sum += parts.text.len;
		html_sum += parts.html.len;
		eml_sum += eml.len;
		items_sum += compose_issue_count(issue, rs[i].r.regions);
	}
	if (message_bulletin(ctx, issue, buf_str(&number), &rs[0].r, at, &one, NULL, &err) != 0)
		fatal("message_bulletin: %s", buf_str(&err));
	/* the baseline's data: what the templates read, per language and regions */
	for (int l = 0; l < 3; l++)
		for (unsigned m = 0; m < 32; m++) {
			static const char *const langs[] = { "fi", "sv", "en" };
			json_t *d = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, "
			    "s:{s:s, s:s, s:s}}", "lang", langs[l], "programme",
			    "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma",
			    "sender", "name", conf.from_name, "address", conf.from_address,
			    "recipient", "name", "Aino Virtanen", "email",
			    "tilaaja.000000@sote-0.example", "regions", "HYKS",
			    "links", "unsubscribe",
			    "https://tiedote.example/u/AQAAAAAAAAB1qlLa3_aWjFoA7mRJWBeFEA",
			    "browser", "https://tiedote.example/issues/2020-11/fi",
			    "home", "https://tiedote.example");
			json_t *b = compose_bulletin(issue, langs[l], m);

			json_object_update(d, b);
			json_decref(b);
			data[l][m] = d;
		}

	for (int round = 0; round < 2; round++) {
		double t0, r;

		/* ours: the whole message, as the sender builds it */
		t0 = now_s();
		for (int i = 0; i < n; i++) {
			buf_reset(&eml);
			if (message_bulletin(ctx, issue, buf_str(&number), &rs[i].r, at, &parts,
			    &eml, &err) != 0)
				fatal("message_bulletin: %s", buf_str(&err));
		}
		r = n / (now_s() - t0);
		best[0] = r > best[0] ? r : best[0];

		/* parts: compose + render + wrap, no MIME */
		t0 = now_s();
		for (int i = 0; i < n; i++)
			if (message_bulletin(ctx, issue, buf_str(&number), &rs[i].r, at, &parts,
			    NULL, &err) != 0)
				fatal("message_bulletin: %s", buf_str(&err));
		r = n / (now_s() - t0);
		best[1] = r > best[1] ? r : best[1];

		/* mime: mime_build alone on finished parts, per recipient headers */
		t0 = now_s();
		for (int i = 0; i < n; i++) {
			mime_msg_t msg = {
				.from_name = conf.from_name, .from_addr = conf.from_address,
				.to_name = rs[i].r.name, .to_addr = rs[i].r.email,
				.subject = buf_str(&one.subject), .date = at,
				.message_id = "2020-11.0fc5069be25844d3f7db@ajankohtaistiedote.tiedote.example",
				.list_id = "Ajankohtaistiedote <ajankohtaistiedote.tiedote.example>",
				.unsubscribe_url = "https://tiedote.example/u/AQAAAAAAAAB1qlLa3_aWjFoA7mRJWBeFEA",
				.unsubscribe_mailto = "unsubscribe+AQAAAAAAAAB1qlLa3_aWjFoA7mRJWBeFEA@tiedote.example",
				.text = buf_str(&one.text), .text_len = one.text.len,
				.html = buf_str(&one.html), .html_len = one.html.len,
			};

			buf_reset(&eml);
			if (mime_build(&msg, &eml, &err) < 0)
				fatal("mime_build: %s", buf_str(&err));
		}
		r = n / (now_s() - t0);
		best[2] = r > best[2] ? r : best[2];

		/* baseline: json_dumps of each recipient's template data */
		t0 = now_s();
		json_sum = 0;
		for (int i = 0; i < n; i++) {
			int l = rs[i].r.lang[0] == 'f' ? 0 : rs[i].r.lang[0] == 's' ? 1 : 2;
			char *s = json_dumps(data[l][rs[i].r.regions], JSON_COMPACT);

			json_sum += strlen(s);
			free(s);
		}
		r = n / (now_s() - t0);
		best[3] = r > best[3] ? r : best[3];

		/* ours again without the calendar attachment (bulletin.calendar) */
		conf.bulletin_calendar = 0;
		t0 = now_s();
		for (int i = 0; i < n; i++) {
			buf_reset(&eml);
			if (message_bulletin(ctx, issue, buf_str(&number), &rs[i].r, at, &parts,
			    &eml, &err) != 0)
				fatal("message_bulletin: %s", buf_str(&err));
		}
		r = n / (now_s() - t0);
		best[4] = r > best[4] ? r : best[4];
		conf.bulletin_calendar = 1;
	}

	printf("render: a %zu-item bulletin, %d personalised messages (fi 80 %%, sv 10 %%, "
	    "en 10 %%; half all regions, half one), one core (CPU %d)\n", NELEM(items), n, cpu);
	printf("  average message: %.1f items, text %.1f kB, HTML %.1f kB, eml %.1f kB; "
	    "template data as JSON %.1f kB\n", (double)items_sum / n, text_sum / 1e3 / n,
	    html_sum / 1e3 / n, eml_sum / 1e3 / n, json_sum / 1e3 / n);
	printf("  ours: message_bulletin (data, render, wrap, MIME)  %8.0f msg/s  %6.1f us/msg\n",
	    best[0], 1e6 / best[0]);
	printf("    the same without the .ics attachment           %8.0f msg/s  %6.1f us/msg\n",
	    best[4], 1e6 / best[4]);
	printf("    without MIME (data, render, wrap)              %8.0f msg/s  %6.1f us/msg\n",
	    best[1], 1e6 / best[1]);
	printf("    mime_build alone on finished parts             %8.0f msg/s  %6.1f us/msg\n",
	    best[2], 1e6 / best[2]);
	printf("  baseline: json_dumps of the same template data   %8.0f msg/s  %6.1f us/msg\n",
	    best[3], 1e6 / best[3]);
	printf("  ratio ours/baseline (time per message)           %8.2f\n", best[3] / best[0]);

	for (int l = 0; l < 3; l++)
		for (int m = 0; m < 32; m++)
			json_decref(data[l][m]);
	message_parts_free(&parts);
	message_parts_free(&one);
	message_close(ctx);
	compose_issue_free(issue);
	store_close(store);
	conf_free(&conf);
	free(rs);
	buf_free(&err);
	buf_free(&eml);
	buf_free(&number);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) != 0;
}
