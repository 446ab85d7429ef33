"""Function words of Spanish, Portuguese, English and French (accents removed, lower case).

Written for this module (articles, prepositions, pronouns, auxiliaries, frequent adverbs), plus
a few words so common in every child-labour submission that they explain nothing. Used only to
pick the words shown as matched terms; the text vectors see every word.
"""

from __future__ import annotations

_ES = """
a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bajo bien cada casi
como con contra cual cuales cuando de del desde donde dos durante e el ella ellas ellos en
entre era eran es esa esas ese eso esos esta estan estas este esto estos fue fueron ha habia
han hasta hay la las le les lo los mas me mediante mi mientras mismo mucho muchos muy nada ni
no nos nosotros nuestra nuestras nuestro nuestros o otra otras otro otros para pero poco por
porque puede pueden que quien se sea segun ser si sido sin sino sobre solo son su sus tambien
tan tanto te tiene tienen todo todos tras tres u un una unas uno unos usted y ya
"""
_PT = """
a ao aos apos as ate com como da das de dela dele deles depois do dos e ela elas ele eles em
entre era essa essas esse esses esta estao estas este estes eu foi foram ha isso isto ja la
lhe lhes mais mas me mesmo muito muitos na nao nas nem no nos nossa nossas nosso nossos num
numa o os ou para pela pelas pelo pelos por porque pouco quais qual quando que quem se sem
ser seu seus so sobre sua suas tambem tem tendo ter toda todas todo todos tres um uma umas uns
"""
_EN = """
a about after all also an and any are as at be been before being between both but by can could
did do does doing during each either for from had has have having how if in into is it its
more most much must no nor not of on once only or other our ours out over own same several
should so some such than that the their them then there these they this those three through
to too two under until up upon very was we were what when where which while who whom why will
with within without would you your
"""
_FR = """
a afin ai au aucun aussi autre autres aux avec avoir ce cela ces cet cette chaque comme dans de
des deux donc du elle elles en entre est et etre eu fait il ils je la le les leur leurs lors
mais meme mes moins nos notre nous ou par pas peu peut plus pour qu que qui sa sans se selon
ses si son sont sous sur ta tous tout toute toutes tres trois un une vers vos votre vous
"""
_BACKGROUND = """
child children nino ninos nina ninas crianca criancas enfant enfants infantil labour labor
work trabajo trabalho travail country pais pays need needs necesitamos precisamos besoin
nous queremos want offer ofrecemos oferecemos offrons programme programa program
"""

STOPWORDS: frozenset[str] = frozenset(" ".join((_ES, _PT, _EN, _FR, _BACKGROUND)).split())
